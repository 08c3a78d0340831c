/**
 * `LagrelloClient`: the Effect client of a Lagrello v1 server, derived with `HttpApiClient` from
 * the one contract in `@lagrello/core/contract` (no hand-written paths or schemas).
 *
 * ```ts
 * const program = Effect.gen(function* () {
 *   const lagrello = yield* LagrelloClient
 *   yield* lagrello.sendMagicLink("alice")
 * }).pipe(
 *   Effect.catchTag("TooManyRequests", (e) => Effect.log(`retry in ${e.retryAfterSeconds} s`)),
 *   Effect.provide(layerLagrelloClientFetch({ baseUrl: "http://127.0.0.1:3000", accessToken }))
 * )
 * ```
 *
 * @since 0.0.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpApiError from "@effect/platform/HttpApiError"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type {
  CreateTokenRequest,
  CreateUserRequest,
  CreateWebhookRequest,
  EventListParams,
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
import {
  describeIssues,
  ErrorBody,
  InvalidPayload,
  invalidMessage,
  LagrelloApi,
  RetryAfterSecondsField,
  truncate
} from "@lagrello/core/contract"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { LagrelloTransportError } from "./errors.js"

/**
 * How failed reads are retried. Only idempotent reads are ever retried (`users.get`,
 * `tenant.get`, `tokens.list`, `totpImage`), and only after a network error, a timeout, a 502,
 * 503 or 504 answer, or `Unavailable`: never a verify, a send or a write.
 * @since 0.0.0
 */
export interface RetryOptions {
  /** Retries after the first attempt (default 2). */
  readonly retries?: number | undefined
  /** The delay before the first retry, doubled for each next one, with ±20% jitter (default 200). */
  readonly baseDelayMs?: number | undefined
  /** The longest delay between two attempts (default 2000). */
  readonly maxDelayMs?: number | undefined
}

/**
 * @since 0.0.0
 */
export interface LagrelloClientConfig {
  /** The server's address, e.g. `https://auth.example.com` (a path prefix is kept). */
  readonly baseUrl: string | URL
  /** The access token, sent as `Authorization: Bearer ...` on every request. */
  readonly accessToken: string | Redacted.Redacted<string>
  /**
   * The longest wait for each attempt of a call, in milliseconds, answer body included (default
   * 10000; `0` or `Infinity` waits for ever).
   */
  readonly timeoutMs?: number | undefined
  /** Retries of idempotent reads (see {@link RetryOptions}); `false` turns them off. */
  readonly retry?: RetryOptions | false | undefined
}

/**
 * The defaults of {@link LagrelloClientConfig}.
 * @since 0.0.0
 */
export const defaults = {
  timeoutMs: 10_000,
  retry: { retries: 2, baseDelayMs: 200, maxDelayMs: 2_000 }
} as const

/**
 * The failures of the call to endpoint `E` of group `G`: the typed errors the contract declares
 * for it (endpoint, group and API), a request the contract's schemas refuse (`InvalidPayload`),
 * or no Lagrello answer at all (`LagrelloTransportError`). Derived from the contract: nothing
 * here lists them.
 * @since 0.0.0
 */
export type CallError<G extends keyof LagrelloApiClient, E extends keyof LagrelloApiClient[G]> =
  LagrelloApiClient[G][E] extends (...args: never) => Effect.Effect<unknown, infer Failure, unknown> ? Normalized<Failure>
    : never

/**
 * The failures every authenticated call may have: a wrong access token (`Forbidden`), the
 * server's database down (`Unavailable`), a refused parameter or body (`InvalidPayload`), or no
 * Lagrello answer at all (`LagrelloTransportError`): those of `GET /v1/tenant`, which declares
 * no others.
 * @since 0.0.0
 */
export type CommonError = CallError<"tenants", "get">

/**
 * The methods of the client. Each is named for what it does; `api` is the raw client derived
 * from the contract, for what the methods do not cover (e.g. `withResponse`).
 * @since 0.0.0
 */
export interface LagrelloClientService {
  /** E-mails the user a single-use sign-in link. `TooManyRequests` past the send limit. Never retried. */
  readonly sendMagicLink: (userId: string) => Effect.Effect<void, CallError<"auth", "sendMagicLink">>
  /**
   * Exchanges the token of a magic link for its user, once (it is consumed). `Unauthorized` when
   * it is wrong, expired or used: DO NOT authenticate. Never retried.
   */
  readonly verifyMagicLink: (token: string) => Effect.Effect<User, CallError<"auth", "verifyMagicLink">>
  /** Starts TOTP enrolment: the base32 secret and a `data:` URI of its QR code. */
  readonly enableTotp: (userId: string) => Effect.Effect<TotpEnableResponse, CallError<"auth", "toggleTotp">>
  /** Turns TOTP off and erases the secret. */
  readonly disableTotp: (userId: string) => Effect.Effect<void, CallError<"auth", "toggleTotp">>
  /**
   * Checks a TOTP code: the user when it is right; `Unauthorized` when it is not (DO NOT
   * authenticate), `TooManyRequests` while wrong codes are throttled. Never retried.
   */
  readonly verifyTotp: (
    userId: string,
    code: string
  ) => Effect.Effect<User, CallError<"auth", "verifyTotp">>
  readonly users: {
    /** Creates a user; `Conflict` when it exists. */
    readonly create: (user: CreateUserRequest) => Effect.Effect<User, CallError<"users", "create">>
    /** Reads a user (retried). */
    readonly get: (userId: string) => Effect.Effect<User, CallError<"users", "get">>
    /** Updates a user: sets its e-mail address. */
    readonly update: (userId: string, update: UpdateUserRequest) => Effect.Effect<User, CallError<"users", "update">>
    /** Deletes a user with its links and TOTP secret. */
    readonly delete: (userId: string) => Effect.Effect<void, CallError<"users", "delete">>
  }
  readonly tokens: {
    /** A page of the tenant's access tokens (`tokenKey` is each one's public id) (ADMIN; retried). */
    readonly list: (page?: TokenListParams) => Effect.Effect<TokenList, CallError<"tokens", "list">>
    /** Creates an access token: its `tokenKey` is the whole bearer token, shown this once (ADMIN). */
    readonly create: (token: CreateTokenRequest) => Effect.Effect<Token, CallError<"tokens", "create">>
    /** Revokes an access token by its public id (ADMIN). */
    readonly delete: (tokenId: string) => Effect.Effect<void, CallError<"tokens", "delete">>
  }
  readonly tenant: {
    /** The caller's tenant (retried). */
    readonly get: () => Effect.Effect<Tenant, CallError<"tenants", "get">>
    /** Sets the tenant's `callbackUrl` (an absolute http(s) URL containing `{}`). */
    readonly update: (update: UpdateTenantRequest) => Effect.Effect<Tenant, CallError<"tenants", "update">>
  }
  /** The PNG of the QR code of a TOTP key, rendered by the server (no token needed; retried). */
  readonly totpImage: (params: TotpImageParams) => Effect.Effect<Uint8Array, CallError<"images", "totp">>
  /**
   * The URL of `GET /v1/images/totp` for these parameters, for an `<img src>`. It carries the
   * secret in its query string, where access logs and browser history keep it: prefer the
   * `qrImage` data URI that `enableTotp` answers.
   */
  readonly totpImageUrl: (params: TotpImageParams) => string
  /** The client derived from the contract, with the bearer token and Retry-After handling. */
  readonly api: LagrelloApiClient

  // -------------------------------------------------------------------------------------------
  // Beyond v1 (SPEC 5): recovery codes, the e-mail code, the sign-in handoff. Nothing of these is
  // retried: each either uses something up or hands something over once.

  readonly recoveryCodes: {
    /**
     * A new set of recovery codes, replacing the old one at once: shown this once, each
     * `xxxx-xxxx-xxxx-xxxx`. `InvalidPayload` when the user has no confirmed TOTP authenticator.
     */
    readonly generate: (userId: string) => Effect.Effect<RecoveryCodes, CallError<"recovery", "generate">>
    /** How many codes are left, and when the set was made. */
    readonly status: (userId: string) => Effect.Effect<RecoveryCodesStatus, CallError<"recovery", "status">>
    /**
     * Checks a recovery code and uses it up: the user when it is right; `Unauthorized` when not
     * (DO NOT authenticate), `TooManyRequests` while wrong codes (TOTP or recovery) are throttled.
     */
    readonly verify: (userId: string, code: string) => Effect.Effect<User, CallError<"recovery", "verify">>
  }
  /**
   * Checks the code of the user's last sign-in mail (it uses the mail's link up too): the user
   * when it is right; `Unauthorized` when not (DO NOT authenticate; the fifth wrong code ends the
   * mail's challenge).
   */
  readonly verifyEmailCode: (userId: string, code: string) => Effect.Effect<User, CallError<"crossDevice", "verifyEmailCode">>
  readonly handoffs: {
    /**
     * Sends the sign-in mail for a sign-in on this device that the user confirms from another:
     * show `matchNumber` here, and wait with `handoffs.status`. Keep `handoffId` secret (server side).
     */
    readonly start: (userId: string) => Effect.Effect<Handoff, CallError<"crossDevice", "startHandoff">>
    /**
     * The handoff's status, waiting up to `waitSeconds` (0-30, default 0) while it is pending; the
     * call's timeout is extended by the wait. Once approved, the answer carries the user, once.
     */
    readonly status: (
      handoffId: string,
      options?: { readonly waitSeconds?: number | undefined }
    ) => Effect.Effect<HandoffStatus, CallError<"crossDevice", "getHandoff">>
    /** The three numbers to show where the handoff's link was opened (the token of the link). */
    readonly choices: (token: string) => Effect.Effect<HandoffChoices, CallError<"crossDevice", "handoffChoices">>
    /** Approves with the number picked; a wrong one denies the handoff (`Unauthorized`) and burns the link. */
    readonly approve: (token: string, matchNumber: number) => Effect.Effect<void, CallError<"crossDevice", "approveHandoff">>
  }

  // -------------------------------------------------------------------------------------------
  // Beyond v1 (SPEC 6): the event log and webhooks (ADMIN).

  readonly events: {
    /**
     * A page of the tenant's events after `after` (the `next` of the previous page), oldest first
     * (retried: reading changes nothing). Keep `next`: reading on from it misses no event and
     * repeats none.
     */
    readonly list: (params?: EventListOptions) => Effect.Effect<EventPage, CallError<"events", "list">>
  }
  readonly webhooks: {
    /** Adds an endpoint; its `secret` (`whsec_...`) is shown this once. */
    readonly create: (webhook: CreateWebhookRequest) => Effect.Effect<WebhookWithSecret, CallError<"webhooks", "create">>
    /** The tenant's endpoints (retried). */
    readonly list: () => Effect.Effect<WebhookList, CallError<"webhooks", "list">>
    /** Deletes an endpoint with its delivery log. */
    readonly delete: (id: string) => Effect.Effect<void, CallError<"webhooks", "delete">>
    /** A new secret, shown once; the old one keeps signing beside it for 24 hours. */
    readonly rotateSecret: (id: string) => Effect.Effect<WebhookWithSecret, CallError<"webhooks", "rotateSecret">>
    /** The latest deliveries, newest first, with each attempt (retried). */
    readonly deliveries: (id: string) => Effect.Effect<WebhookDeliveryList, CallError<"webhooks", "listDeliveries">>
    /** Sends a delivery again now (and enables an endpoint disabled for its failures). */
    readonly retry: (id: string, deliveryId: string) => Effect.Effect<void, CallError<"webhooks", "retryDelivery">>
  }
}

/**
 * The query of `events.list`: `after` (the previous page's `next`; undefined reads from the
 * oldest event kept), `limit` (1-1000, default 100), `type` (one event type).
 * @since 0.0.0
 */
export interface EventListOptions {
  readonly after?: string | undefined
  readonly limit?: number | undefined
  readonly type?: EventListParams["type"] | undefined
}

/**
 * The client `HttpApiClient.makeWith` derives from `LagrelloApi`.
 * @since 0.0.0
 */
export type LagrelloApiClient = Effect.Effect.Success<ReturnType<typeof deriveApiClient>>

const deriveApiClient = (httpClient: HttpClient.HttpClient, baseUrl: string) =>
  HttpApiClient.makeWith(LagrelloApi, {
    httpClient,
    baseUrl,
    // Only the decoding of the answer runs in here: a body the contract does not allow is not a
    // Lagrello answer (the client's own request schemas fail before, as InvalidPayload).
    transformResponse: Effect.mapError((error) =>
      ParseResult.isParseError(error)
        ? new LagrelloTransportError({
          reason: "UnexpectedResponse",
          // The contract's description of the problems: paths and rules, never the values received
          // (they can be secrets: a TOTP secret key), and errors get logged.
          message: truncate(`The server's answer does not match the Lagrello v1 contract: ${describeIssues(error.issue).join("; ")}`)
        })
        : error
    )
  })

/**
 * Whole seconds to wait from a `Retry-After` value (delay-seconds or an HTTP date), or undefined.
 * @since 0.0.0
 */
export const parseRetryAfter = (value: string | undefined, nowMillis: number = Date.now()): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) {
    const seconds = Number(trimmed)
    return Number.isSafeInteger(seconds) ? seconds : undefined
  }
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMillis) / 1000))
}

const isErrorBody = Schema.is(ErrorBody)

/**
 * Checks every error answer before the contract decodes it: one that is not a Lagrello error body
 * (a proxy's page, an empty 500) fails as a `StatusCode` response error; a 429 gets the value of
 * its `Retry-After` header added to its body, where `TooManyRequestsWire` reads it.
 */
const checkErrorAnswer = (
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
  if (response.status < 400) return Effect.succeed(response)
  return Effect.flatMap(response.text, (text) => {
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
    if (!isErrorBody(body)) {
      return Effect.fail(
        new HttpClientError.ResponseError({
          request: response.request,
          response,
          reason: "StatusCode",
          description: `not a Lagrello error answer (${text.length === 0 ? "empty body" : "unexpected body"})`
        })
      )
    }
    const retryAfter = response.status === 429 ? parseRetryAfter(response.headers["retry-after"]) : undefined
    const headers = Object.fromEntries(Object.entries(response.headers).filter(([name]) => name !== "content-length"))
    return Effect.succeed(
      HttpClientResponse.fromWeb(
        response.request,
        new Response(
          JSON.stringify(retryAfter === undefined ? body : { ...body, [RetryAfterSecondsField]: retryAfter }),
          { status: response.status, headers }
        )
      )
    )
  })
}

const describeCause = (cause: unknown): string => {
  if (!(cause instanceof Error)) return String(cause)
  const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : ""
  return `${cause.message}${inner}`
}

/**
 * The transport error of an HTTP client error. Its message names the method and the URL without
 * its query (which may hold a magic-link token or a TOTP code); the HTTP client error itself is
 * not kept as the cause, since its request holds the Authorization header and the query.
 */
const fromHttpClientError = (error: HttpClientError.HttpClientError): LagrelloTransportError => {
  const where = `${error.request.method} ${error.request.url}`
  if (error._tag === "RequestError") {
    return new LagrelloTransportError({
      reason: "Network",
      message: `${where}: the Lagrello server could not be reached (${describeCause(error.cause)})`,
      cause: error.cause
    })
  }
  const status = error.response.status
  // A `Decode` error with a cause is a body that could not be read; without one, the derived
  // client's answer to a status the endpoint does not declare.
  return error.reason === "Decode" && error.cause !== undefined
    ? new LagrelloTransportError({
      reason: "Network",
      message: `${where}: the answer (${status}) could not be read (${describeCause(error.cause)})`,
      status,
      cause: error.cause
    })
    : new LagrelloTransportError({
      reason: "UnexpectedResponse",
      message: `${where}: unexpected answer ${status}${error.description ? `, ${error.description}` : ""}`,
      status
    })
}

/**
 * The failures of a derived client call as the client answers them: HTTP client errors become
 * `LagrelloTransportError`, a request the contract's schemas refuse becomes `InvalidPayload`.
 * @since 0.0.0
 */
export type Normalized<E> =
  | Exclude<E, HttpClientError.HttpClientError | ParseResult.ParseError | HttpApiError.HttpApiDecodeError>
  | InvalidPayload
  | LagrelloTransportError

/**
 * From the derived client's failures to the client's: HTTP client errors become
 * `LagrelloTransportError`; a request the contract's schemas refuse before sending (a
 * `ParseError`) and the library's own 400 (`HttpApiDecodeError`) become `InvalidPayload`.
 */
const normalize = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, Normalized<E>> =>
  Effect.mapError(effect, (error: E | LagrelloTransportError): Normalized<E> => {
    if (error instanceof LagrelloTransportError) return error
    if (HttpClientError.isHttpClientError(error)) return fromHttpClientError(error)
    if (ParseResult.isParseError(error)) return new InvalidPayload({ message: invalidMessage("request", error) })
    if (error instanceof HttpApiError.HttpApiDecodeError) return new InvalidPayload({ message: error.message })
    return error as Exclude<E, HttpClientError.HttpClientError | ParseResult.ParseError | HttpApiError.HttpApiDecodeError>
  })

const retryableStatuses: ReadonlySet<number> = new Set([502, 503, 504])

/**
 * Is this failure worth another attempt of an idempotent read? Network errors, timeouts, 502, 503
 * and 504 answers (including the server's own `Unavailable`).
 * @since 0.0.0
 */
export const isRetryable = (error: unknown): boolean => {
  if (error instanceof LagrelloTransportError) {
    return error.reason === "Network" || error.reason === "Timeout" ||
      (error.status !== undefined && retryableStatuses.has(error.status))
  }
  return Predicate.isTagged(error, "Unavailable")
}

/**
 * A path parameter as the derived client needs it: it puts path parameters into the URL as they
 * are, so the characters that would change the URL's structure are percent-encoded here (the
 * server decodes them back); others (spaces, non-ASCII) are encoded by the URL itself. `.` and
 * `..` cannot be a path segment at all (URLs resolve them, even percent-encoded).
 */
const pathSegment = (name: string, value: string): Effect.Effect<string, InvalidPayload> =>
  value === "." || value === ".."
    ? Effect.fail(new InvalidPayload({ message: `${name} "${value}" cannot be used in a URL path` }))
    : Effect.succeed(value.replace(/[%/\\?#]/g, encodeURIComponent))

const resolveBaseUrl = (baseUrl: string | URL): string => {
  const text = baseUrl.toString()
  if (!URL.canParse(text)) throw new TypeError(`Lagrello client: baseUrl must be an absolute URL, got ${JSON.stringify(text)}`)
  const url = new URL(text)
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`Lagrello client: baseUrl must be an http(s) URL, got ${JSON.stringify(text)}`)
  }
  url.search = ""
  url.hash = ""
  return url.toString().replace(/\/+$/, "")
}

const checkTimeout = (timeoutMs: number): number => {
  if (!(timeoutMs >= 0)) throw new TypeError(`Lagrello client: timeoutMs must be a number >= 0, got ${timeoutMs}`)
  return timeoutMs
}

const resolveRetry = (
  retry: RetryOptions | false | undefined
): { readonly retries: number; readonly baseDelayMs: number; readonly maxDelayMs: number } | undefined => {
  if (retry === false) return undefined
  const resolved = {
    retries: retry?.retries ?? defaults.retry.retries,
    baseDelayMs: retry?.baseDelayMs ?? defaults.retry.baseDelayMs,
    maxDelayMs: retry?.maxDelayMs ?? defaults.retry.maxDelayMs
  }
  for (const [name, value] of Object.entries(resolved)) {
    if (!(Number.isFinite(value) && value >= 0)) {
      throw new TypeError(`Lagrello client: retry.${name} must be a number >= 0, got ${value}`)
    }
  }
  if (!Number.isInteger(resolved.retries)) {
    throw new TypeError(`Lagrello client: retry.retries must be a whole number, got ${resolved.retries}`)
  }
  return resolved.retries === 0 ? undefined : resolved
}

/**
 * Checks a configuration: throws a `TypeError` naming what is wrong.
 * @since 0.0.0
 */
export const validateConfig = (config: LagrelloClientConfig): void => {
  resolveBaseUrl(config.baseUrl)
  checkTimeout(config.timeoutMs ?? defaults.timeoutMs)
  resolveRetry(config.retry)
  const token = Redacted.isRedacted(config.accessToken) ? Redacted.value(config.accessToken) : config.accessToken
  if (typeof token !== "string" || token.length === 0) throw new TypeError("Lagrello client: accessToken must not be empty")
}

/**
 * Builds the client on the `HttpClient` in context.
 * @since 0.0.0
 * @category constructors
 */
export const make = (config: LagrelloClientConfig): Effect.Effect<LagrelloClientService, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    validateConfig(config)
    const baseUrl = resolveBaseUrl(config.baseUrl)
    const timeoutMs = checkTimeout(config.timeoutMs ?? defaults.timeoutMs)
    const token = Redacted.isRedacted(config.accessToken) ? config.accessToken : Redacted.make(config.accessToken)
    const retry = resolveRetry(config.retry)

    const httpClient = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(HttpClientRequest.bearerToken(token)),
      // No b3/traceparent headers: a browser would need the server's CORS to allow them.
      HttpClient.withTracerPropagation(false),
      HttpClient.transformResponse(Effect.flatMap(checkErrorAnswer))
    )
    const api = yield* deriveApiClient(httpClient, baseUrl)

    /** The attempt's timeout; `extraMs` for calls the server may hold on purpose (a long poll). */
    const timeout = <A, E>(effect: Effect.Effect<A, E>, extraMs = 0): Effect.Effect<A, E | LagrelloTransportError> =>
      timeoutMs === 0 || timeoutMs === Infinity
        ? effect
        : Effect.timeoutFail(effect, {
          duration: Duration.millis(timeoutMs + extraMs),
          onTimeout: () =>
            new LagrelloTransportError({
              reason: "Timeout",
              message: `No answer from the Lagrello server within ${timeoutMs + extraMs} ms`
            })
        })

    const schedule = retry === undefined ? undefined : Schedule.exponential(Duration.millis(retry.baseDelayMs), 2).pipe(
      Schedule.jittered,
      Schedule.modifyDelay((delay) => Duration.min(delay, Duration.millis(retry.maxDelayMs))),
      Schedule.intersect(Schedule.recurs(retry.retries))
    )

    /** A call that changes state or consumes something: one attempt. */
    const once = <A, E>(effect: Effect.Effect<A, E>) => timeout(normalize(effect))
    /** An idempotent read: attempts again after a retryable failure. */
    const read = <A, E>(effect: Effect.Effect<A, E>) =>
      schedule === undefined ? once(effect) : Effect.retry(once(effect), { schedule, while: isRetryable })

    /** Calls `f` with the path of this user, or fails with InvalidPayload. */
    const withUser = <A, E>(userId: string, f: (request: { readonly path: { readonly userId: string } }) => Effect.Effect<A, E>) =>
      Effect.flatMap(pathSegment("userId", userId), (segment) => f({ path: { userId: segment } }))

    const enabled = (answer: TotpEnableResponse | void): Effect.Effect<TotpEnableResponse, LagrelloTransportError> =>
      answer === undefined
        ? Effect.fail(
          new LagrelloTransportError({
            reason: "UnexpectedResponse",
            message: "The server answered 204 to enabling TOTP: no secret was given",
            status: 204
          })
        )
        : Effect.succeed(answer)

    const imagePath = LagrelloApi.groups.images.endpoints.totp.path

    const service: LagrelloClientService = {
      sendMagicLink: (userId) => withUser(userId, (request) => once(api.auth.sendMagicLink(request))),
      verifyMagicLink: (token) => once(api.auth.verifyMagicLink({ urlParams: { payload: token } })),
      enableTotp: (userId) =>
        withUser(userId, (request) =>
          Effect.flatMap(once(api.auth.toggleTotp({ ...request, payload: { enable: true } })), enabled)),
      disableTotp: (userId) =>
        withUser(userId, (request) => Effect.asVoid(once(api.auth.toggleTotp({ ...request, payload: { enable: false } })))),
      verifyTotp: (userId, code) =>
        withUser(userId, (request) => once(api.auth.verifyTotp({ ...request, urlParams: { payload: code } }))),
      users: {
        create: (user) => once(api.users.create({ payload: user })),
        get: (userId) => withUser(userId, (request) => read(api.users.get(request))),
        update: (userId, update) => withUser(userId, (request) => once(api.users.update({ ...request, payload: update }))),
        delete: (userId) => withUser(userId, (request) => once(api.users.delete(request)))
      },
      tokens: {
        list: (page = {}) => read(api.tokens.list({ urlParams: page })),
        create: (request) => once(api.tokens.create({ payload: request })),
        delete: (tokenId) =>
          Effect.flatMap(pathSegment("id", tokenId), (id) => once(api.tokens.delete({ path: { id } })))
      },
      tenant: {
        get: () => read(api.tenants.get()),
        update: (update) => once(api.tenants.update({ payload: update }))
      },
      totpImage: (params) => read(api.images.totp({ urlParams: params })),
      totpImageUrl: (params) =>
        `${baseUrl}${imagePath}?${new URLSearchParams({
          tenantName: params.tenantName,
          userId: params.userId,
          userSecret: params.userSecret
        })}`,
      api,

      recoveryCodes: {
        generate: (userId) => withUser(userId, (request) => once(api.recovery.generate(request))),
        status: (userId) => withUser(userId, (request) => once(api.recovery.status(request))),
        verify: (userId, code) => withUser(userId, (request) => once(api.recovery.verify({ ...request, payload: { code } })))
      },
      verifyEmailCode: (userId, code) =>
        withUser(userId, (request) => once(api.crossDevice.verifyEmailCode({ ...request, payload: { code } }))),
      handoffs: {
        start: (userId) => withUser(userId, (request) => once(api.crossDevice.startHandoff(request))),
        status: (handoffId, options = {}) =>
          Effect.flatMap(pathSegment("handoffId", handoffId), (segment) => {
            const wait = options.waitSeconds
            // The contract's query schema refuses a bad wait before anything is sent.
            const urlParams = wait === undefined ? {} : { wait }
            // Not retried: a lost answer may have been the approval, which is handed over once.
            return timeout(normalize(api.crossDevice.getHandoff({ path: { handoffId: segment }, urlParams })), Math.max(0, (wait ?? 0) * 1000))
          }),
        choices: (token) => once(api.crossDevice.handoffChoices({ payload: { payload: token } })),
        approve: (token, matchNumber) => once(api.crossDevice.approveHandoff({ payload: { payload: token, matchNumber } }))
      },

      events: {
        list: (params = {}) => {
          const urlParams: { after?: string; limit?: number; type?: NonNullable<EventListParams["type"]> } = {}
          if (params.after !== undefined) urlParams.after = params.after
          if (params.limit !== undefined) urlParams.limit = params.limit
          if (params.type !== undefined) urlParams.type = params.type
          return read(api.events.list({ urlParams }))
        }
      },
      webhooks: {
        create: (webhook) => once(api.webhooks.create({ payload: webhook })),
        list: () => read(api.webhooks.list()),
        delete: (id) => Effect.flatMap(pathSegment("id", id), (segment) => once(api.webhooks.delete({ path: { id: segment } }))),
        rotateSecret: (id) =>
          Effect.flatMap(pathSegment("id", id), (segment) => once(api.webhooks.rotateSecret({ path: { id: segment } }))),
        deliveries: (id) =>
          Effect.flatMap(pathSegment("id", id), (segment) => read(api.webhooks.listDeliveries({ path: { id: segment } }))),
        retry: (id, deliveryId) =>
          Effect.flatMap(pathSegment("id", id), (segment) =>
            Effect.flatMap(pathSegment("deliveryId", deliveryId), (delivery) =>
              once(api.webhooks.retryDelivery({ path: { id: segment, deliveryId: delivery } }))))
      }
    }
    return service
  })


/**
 * The Lagrello client as an Effect service.
 * @since 0.0.0
 * @category tags
 */
export class LagrelloClient extends Context.Tag("@lagrello/client/LagrelloClient")<
  LagrelloClient,
  LagrelloClientService
>() {}

/**
 * The client, on the `HttpClient` you provide (exported as `layerLagrelloClient`).
 * @since 0.0.0
 * @category layers
 */
export const layer = (config: LagrelloClientConfig): Layer.Layer<LagrelloClient, never, HttpClient.HttpClient> =>
  Layer.effect(LagrelloClient, make(config))

/**
 * The client on `fetch` (`FetchHttpClient`): the global one, or `options.fetch` (e.g. a test
 * double, or a fetch with a custom dispatcher). Exported as `layerLagrelloClientFetch`.
 * @since 0.0.0
 * @category layers
 */
export const layerFetch = (
  config: LagrelloClientConfig,
  options: { readonly fetch?: typeof globalThis.fetch | undefined } = {}
): Layer.Layer<LagrelloClient> => {
  const fetchLayer = options.fetch === undefined
    ? FetchHttpClient.layer
    : FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, options.fetch)))
  return layer(config).pipe(Layer.provide(fetchLayer))
}
