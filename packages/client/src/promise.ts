/**
 * `createLagrelloClient`: the Lagrello client for plain TypeScript. Every method returns a
 * Promise; an error answer of the server rejects with a {@link LagrelloError}, anything else that
 * goes wrong on the way with a {@link LagrelloTransportError}, and an aborted call with the
 * signal's reason (as `fetch` does).
 *
 * ```ts
 * const lagrello = createLagrelloClient({ baseUrl: "https://auth.example.com", accessToken })
 * try {
 *   const user = await lagrello.verifyMagicLink(token)
 * } catch (error) {
 *   if (isLagrelloError(error) && error.errorType === "Unauthorized") // DO NOT authenticate
 * }
 * await lagrello.dispose()
 * ```
 *
 * @since 0.0.0
 */
import type {
  CreateTokenRequest,
  CreateUserRequest,
  CreateWebhookRequest,
  EventPage,
  Handoff,
  HandoffChoices,
  HandoffStatus,
  RecoveryCodes,
  RecoveryCodesStatus,
  Tenant,
  Token,
  TokenList,
  TokenListParams,
  TotpEnableResponse,
  TotpImageParams,
  UpdateTenantRequest,
  UpdateUserRequest,
  User,
  WebhookDeliveryList,
  WebhookList,
  WebhookWithSecret
} from "@lagrello/core/contract"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import type { LagrelloApiError } from "./errors.js"
import { LagrelloError, LagrelloTransportError } from "./errors.js"
import type { EventListOptions, LagrelloClientConfig, LagrelloClientService } from "./LagrelloClient.js"
import { LagrelloClient, layerFetch, validateConfig } from "./LagrelloClient.js"

/**
 * The options of {@link createLagrelloClient}.
 * @since 0.0.0
 */
export interface LagrelloClientOptions extends LagrelloClientConfig {
  /** The `fetch` to use (default: the global one). */
  readonly fetch?: typeof globalThis.fetch | undefined
}

/**
 * The options every method takes last.
 * @since 0.0.0
 */
export interface CallOptions {
  /**
   * Cancels the call: the request is aborted and the Promise rejects with `signal.reason` (an
   * `AbortError` DOMException unless you gave another). `AbortSignal.timeout(ms)` sets a deadline
   * for the whole call, retries included.
   */
  readonly signal?: AbortSignal | undefined
}

/**
 * The Promise client. See `LagrelloClientService` for what each method does and fails with.
 * @since 0.0.0
 */
export interface LagrelloPromiseClient {
  /** E-mails the user a single-use sign-in link. Rejects `TooManyRequests` past the send limit. */
  sendMagicLink(userId: string, options?: CallOptions): Promise<void>
  /** Exchanges a magic-link token for its user, once. `Unauthorized`: DO NOT authenticate. */
  verifyMagicLink(token: string, options?: CallOptions): Promise<User>
  /** Starts TOTP enrolment: `{ secretKey, qrImage }` (a `data:image/png;base64,...` URI). */
  enableTotp(userId: string, options?: CallOptions): Promise<TotpEnableResponse>
  /** Turns TOTP off and erases the secret. */
  disableTotp(userId: string, options?: CallOptions): Promise<void>
  /** Checks a TOTP code: the user when right. `Unauthorized`: DO NOT authenticate. */
  verifyTotp(userId: string, code: string, options?: CallOptions): Promise<User>
  readonly users: {
    create(user: CreateUserRequest, options?: CallOptions): Promise<User>
    get(userId: string, options?: CallOptions): Promise<User>
    update(userId: string, update: UpdateUserRequest, options?: CallOptions): Promise<User>
    delete(userId: string, options?: CallOptions): Promise<void>
  }
  readonly tokens: {
    list(page?: TokenListParams, options?: CallOptions): Promise<TokenList>
    create(token: CreateTokenRequest, options?: CallOptions): Promise<Token>
    delete(tokenId: string, options?: CallOptions): Promise<void>
  }
  readonly tenant: {
    get(options?: CallOptions): Promise<Tenant>
    update(update: UpdateTenantRequest, options?: CallOptions): Promise<Tenant>
  }
  /** The PNG bytes of the QR code of a TOTP key, rendered by the server. */
  totpImage(params: TotpImageParams, options?: CallOptions): Promise<Uint8Array>
  /** The image URL for `<img src>`: it carries the secret in its query; prefer `qrImage`. */
  totpImageUrl(params: TotpImageParams): string
  /** Releases the client's runtime. Calls made afterwards reject. */
  dispose(): Promise<void>

  // Beyond v1 (SPEC 5): recovery codes, the e-mail code, the sign-in handoff.
  readonly recoveryCodes: {
    /** A new set, replacing the old at once (shown once). `InvalidPayload` without confirmed TOTP. */
    generate(userId: string, options?: CallOptions): Promise<RecoveryCodes>
    status(userId: string, options?: CallOptions): Promise<RecoveryCodesStatus>
    /** Checks a recovery code and uses it up. `Unauthorized`: DO NOT authenticate. */
    verify(userId: string, code: string, options?: CallOptions): Promise<User>
  }
  /** Checks the code of the user's last sign-in mail (uses its link up too). `Unauthorized`: DO NOT authenticate. */
  verifyEmailCode(userId: string, code: string, options?: CallOptions): Promise<User>
  readonly handoffs: {
    /** Sends the sign-in mail; show `matchNumber` on this device and wait with `status`. */
    start(userId: string, options?: CallOptions): Promise<Handoff>
    /** The status, waiting up to `waitSeconds` (0-30) while pending; approved carries the user, once. */
    status(handoffId: string, options?: CallOptions & { readonly waitSeconds?: number | undefined }): Promise<HandoffStatus>
    /** The three numbers to show where the link was opened. */
    choices(token: string, options?: CallOptions): Promise<HandoffChoices>
    /** Approves with the number picked; a wrong one denies it (`Unauthorized`) and burns the link. */
    approve(token: string, matchNumber: number, options?: CallOptions): Promise<void>
  }

  // Beyond v1 (SPEC 6): the event log and webhooks (ADMIN).
  readonly events: {
    /** A page of events after `after` (the previous page's `next`), oldest first. */
    list(params?: EventListOptions, options?: CallOptions): Promise<EventPage>
  }
  readonly webhooks: {
    /** Adds an endpoint; its `secret` (`whsec_...`) is shown this once. */
    create(webhook: CreateWebhookRequest, options?: CallOptions): Promise<WebhookWithSecret>
    list(options?: CallOptions): Promise<WebhookList>
    delete(id: string, options?: CallOptions): Promise<void>
    /** A new secret, shown once; the old one keeps signing beside it for 24 hours. */
    rotateSecret(id: string, options?: CallOptions): Promise<WebhookWithSecret>
    /** The latest deliveries, newest first, with each attempt. */
    deliveries(id: string, options?: CallOptions): Promise<WebhookDeliveryList>
    /** Sends a delivery again now. */
    retry(id: string, deliveryId: string, options?: CallOptions): Promise<void>
  }
}

const toRejection = (error: LagrelloApiError | LagrelloTransportError): Error =>
  error instanceof LagrelloTransportError ? error : new LagrelloError(error)

/**
 * Creates the Promise client. Throws a `TypeError` at once when the options are not valid (no
 * request is made until the first call).
 * @since 0.0.0
 */
export const createLagrelloClient = (options: LagrelloClientOptions): LagrelloPromiseClient => {
  validateConfig(options)
  const { fetch, ...config } = options
  const runtime = ManagedRuntime.make(layerFetch(config, { fetch }))
  let disposed = false

  const run = async <A>(
    call: (client: LagrelloClientService) => Effect.Effect<A, LagrelloApiError | LagrelloTransportError>,
    callOptions: CallOptions | undefined
  ): Promise<A> => {
    if (disposed) throw new Error("This Lagrello client was disposed")
    const signal = callOptions?.signal
    signal?.throwIfAborted()
    const exit = await runtime.runPromiseExit(
      Effect.flatMap(LagrelloClient, call),
      signal === undefined ? undefined : { signal }
    )
    if (Exit.isSuccess(exit)) return exit.value
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) throw toRejection(failure.value)
    if (signal?.aborted && Cause.isInterruptedOnly(exit.cause)) throw signal.reason
    throw Cause.squash(exit.cause)
  }

  return {
    sendMagicLink: (userId, o) => run((c) => c.sendMagicLink(userId), o),
    verifyMagicLink: (token, o) => run((c) => c.verifyMagicLink(token), o),
    enableTotp: (userId, o) => run((c) => c.enableTotp(userId), o),
    disableTotp: (userId, o) => run((c) => c.disableTotp(userId), o),
    verifyTotp: (userId, code, o) => run((c) => c.verifyTotp(userId, code), o),
    users: {
      create: (user, o) => run((c) => c.users.create(user), o),
      get: (userId, o) => run((c) => c.users.get(userId), o),
      update: (userId, update, o) => run((c) => c.users.update(userId, update), o),
      delete: (userId, o) => run((c) => c.users.delete(userId), o)
    },
    tokens: {
      list: (page, o) => run((c) => c.tokens.list(page), o),
      create: (token, o) => run((c) => c.tokens.create(token), o),
      delete: (tokenId, o) => run((c) => c.tokens.delete(tokenId), o)
    },
    tenant: {
      get: (o) => run((c) => c.tenant.get(), o),
      update: (update, o) => run((c) => c.tenant.update(update), o)
    },
    totpImage: (params, o) => run((c) => c.totpImage(params), o),
    totpImageUrl: (params) => {
      if (disposed) throw new Error("This Lagrello client was disposed")
      return runtime.runSync(Effect.map(LagrelloClient, (c) => c.totpImageUrl(params)))
    },
    recoveryCodes: {
      generate: (userId, o) => run((c) => c.recoveryCodes.generate(userId), o),
      status: (userId, o) => run((c) => c.recoveryCodes.status(userId), o),
      verify: (userId, code, o) => run((c) => c.recoveryCodes.verify(userId, code), o)
    },
    verifyEmailCode: (userId, code, o) => run((c) => c.verifyEmailCode(userId, code), o),
    handoffs: {
      start: (userId, o) => run((c) => c.handoffs.start(userId), o),
      status: (handoffId, o) => run((c) => c.handoffs.status(handoffId, { waitSeconds: o?.waitSeconds }), o),
      choices: (token, o) => run((c) => c.handoffs.choices(token), o),
      approve: (token, matchNumber, o) => run((c) => c.handoffs.approve(token, matchNumber), o)
    },
    events: {
      list: (params, o) => run((c) => c.events.list(params), o)
    },
    webhooks: {
      create: (webhook, o) => run((c) => c.webhooks.create(webhook), o),
      list: (o) => run((c) => c.webhooks.list(), o),
      delete: (id, o) => run((c) => c.webhooks.delete(id), o),
      rotateSecret: (id, o) => run((c) => c.webhooks.rotateSecret(id), o),
      deliveries: (id, o) => run((c) => c.webhooks.deliveries(id), o),
      retry: (id, deliveryId, o) => run((c) => c.webhooks.retry(id, deliveryId), o)
    },
    dispose: async () => {
      if (disposed) return
      disposed = true
      await runtime.dispose()
    }
  }
}
