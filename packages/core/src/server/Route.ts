/**
 * The routes of the API, derived at start-up from the contract and the handler table, ready for
 * any HTTP framework to mount: each one a method, a path pattern, its permission, and `handle`,
 * one Effect program per request that authenticates, checks the permission, decodes path, query
 * and body with the endpoint's schemas, runs the handler, and encodes the success with its
 * schema and status, or the typed error in its wire form (SPEC 1.3, 1.8). `handle` never fails:
 * a defect answers 500 `Internal` and is logged with its cause, never with the request.
 *
 * Framework adapters (the NestJS module) only turn their request into an {@link IncomingRequest}
 * and write the {@link Answer}: no route, status, schema or permission is written anywhere else.
 *
 * @since 0.0.0
 */
import type * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Authentication, ClientRateLimit, RequiredPermission, SecretAnswer } from "../contract/security.js"
import { WireErrors } from "../contract/wire-errors.js"
import type { LagrelloError } from "../domain/errors.js"
import {
  Forbidden,
  internalErrorBody,
  InvalidPayload,
  isLagrelloError,
  retryAfterSeconds,
  statusOfErrorType,
  TooManyRequests
} from "../domain/errors.js"
import type { Permission } from "../domain/permissions.js"
import { allows } from "../domain/permissions.js"
import type { Principal } from "../domain/principal.js"
import * as Access from "../operations/Access.js"
import { currentActor } from "../operations/Events.js"
import type { Storage } from "../storage/Storage.js"
import { Storage as StorageTag } from "../storage/Storage.js"
import { TracedStorage } from "../telemetry/tracedStorage.js"
import { invalidMessage } from "../contract/issues.js"
import { ClientRateLimiter } from "./ClientRateLimiter.js"
import { isRequestTraced, requestRecorder } from "../telemetry/Telemetry.js"

/**
 * A request as the HTTP framework received it, before anything was decoded.
 * @since 0.0.0
 */
export interface IncomingRequest {
  /** The `Authorization` header (undefined when absent or sent more than once). */
  readonly authorization: string | undefined
  /** The `Content-Type` header. */
  readonly contentType: string | undefined
  /** The path parameters as the router matched them (percent-decoded). */
  readonly params: unknown
  /** The query string as an object (a repeated name gives an array). */
  readonly query: unknown
  /**
   * The body parsed as JSON; `undefined` when there was none; an {@link UnreadableBody} when it
   * was not JSON (so that the access token is still checked first).
   */
  readonly body: unknown
  /** The client's address, as the framework tells it (behind a proxy, as its trust settings say). */
  readonly clientAddress?: string | undefined
}

/**
 * A body that could not be parsed, as the framework's parser hands it on.
 * @since 0.0.0
 */
export class UnreadableBody {
  constructor(readonly reason: string) {}
}

/**
 * What to send: status, headers, and the body (JSON text, bytes, or none).
 * @since 0.0.0
 */
export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | Uint8Array | undefined
  /** The trace id of the request's span (for the request log), when the route answered it. */
  readonly traceId?: string | undefined
}

/**
 * One endpoint of the contract, ready to mount.
 * @since 0.0.0
 */
export interface Route<R> {
  /** The group and endpoint names in the contract (e.g. `users`, `get`). */
  readonly group: string
  readonly name: string
  readonly method: HttpMethod.HttpMethod
  /** The path pattern, with `:name` parameters (e.g. `/v1/users/:userId`). */
  readonly path: string
  /** Whether the endpoint needs an access token (its group has the `Authentication` middleware). */
  readonly authenticated: boolean
  /** The permission it needs; undefined when it needs no token. */
  readonly permission: Permission | undefined
  /** The statuses of its successes (e.g. `[200, 204]` for toggling TOTP). */
  readonly successStatuses: ReadonlyArray<number>
  /** Whether it takes a JSON body. */
  readonly takesBody: boolean
  /** The whole request, as one Effect program that never fails. */
  readonly handle: (request: IncomingRequest) => Effect.Effect<Answer, never, R>
}

const jsonType = "application/json; charset=utf-8"

const isJson = (contentType: string | undefined) =>
  contentType !== undefined && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType)

const jsonAnswer = (status: number, body: unknown, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: { "content-type": jsonType, ...headers },
  body: JSON.stringify(body)
})

const encodeWireError = Object.fromEntries(
  Object.entries(WireErrors).map(([tag, schema]) => [tag, Schema.encodeEither(schema as Schema.Schema<LagrelloError, unknown>)])
) as Record<string, (error: LagrelloError) => Either.Either<unknown, ParseResult.ParseError>>

/**
 * The answer of a typed error: its status, its wire body, and `Retry-After` for TooManyRequests.
 * @since 0.0.0
 */
export const errorAnswer = (error: LagrelloError): Answer =>
  jsonAnswer(
    statusOfErrorType[error._tag],
    // The wire schemas encode every instance of their class; the fallback is the same shape.
    Either.getOrElse(encodeWireError[error._tag]!(error), () => ({ errorType: error._tag, message: error.message })),
    error._tag === "TooManyRequests" ? { "retry-after": String(error.retryAfterSeconds) } : {}
  )

/**
 * The answer of a defect.
 * @since 0.0.0
 */
export const internalAnswer: Answer = jsonAnswer(500, internalErrorBody)

/** How an endpoint's success is written: one member of its success union. */
interface SuccessMember {
  readonly status: number
  readonly empty: boolean
  readonly contentType: string
  readonly kind: HttpApiSchema.Encoding["kind"]
  readonly encode: (value: unknown) => Either.Either<unknown, unknown>
}

const successMembers = (schema: Schema.Schema.Any): ReadonlyArray<SuccessMember> => {
  const members = new Set<Schema.Schema.Any>()
  HttpApiSchema.deunionize(members, schema)
  return [...members].map((member) => {
    const encoding = HttpApiSchema.getEncoding(member.ast)
    return {
      status: HttpApiSchema.getStatusSuccess(member),
      empty: HttpApiSchema.isVoid(member.ast),
      contentType: encoding.kind === "Json" ? jsonType : encoding.contentType,
      kind: encoding.kind,
      encode: Schema.encodeUnknownEither(member as Schema.Schema<unknown, unknown>)
    }
  })
}

type Decoder = (input: unknown) => Either.Either<unknown, ParseResult.ParseError>

const decoderOf = (schema: Option.Option<Schema.Schema.Any>): Decoder | undefined =>
  Option.isSome(schema)
    ? Schema.decodeUnknownEither(schema.value as Schema.Schema<unknown, unknown>, {
      errors: "all",
      onExcessProperty: "ignore"
    })
    : undefined

const decodeWith = (
  decoder: Decoder | undefined,
  input: unknown,
  what: string
): Either.Either<unknown, InvalidPayload> => {
  if (decoder === undefined) return Either.right(undefined)
  const decoded = decoder(input)
  return Either.isRight(decoded)
    ? Either.right(decoded.right)
    : Either.left(new InvalidPayload({ message: invalidMessage(what, decoded.left) }))
}

const decodeBody = (decoder: Decoder | undefined, request: IncomingRequest): Either.Either<unknown, InvalidPayload> => {
  // Operations without a body accept any (SPEC 1.5: the generated SDKs send an empty JSON one).
  if (decoder === undefined) return Either.right(undefined)
  const body = request.body
  if (body instanceof UnreadableBody) return Either.left(new InvalidPayload({ message: body.reason }))
  if (body === undefined || body === null || body === "") {
    return Either.left(new InvalidPayload({ message: "A JSON body is required (Content-Type: application/json)" }))
  }
  if (!isJson(request.contentType)) {
    return Either.left(new InvalidPayload({ message: "The body must be sent with Content-Type: application/json" }))
  }
  return decodeWith(decoder, body, "body")
}

/** Any handler of the table, as the route calls it. */
type AnyHandler<R> = (request: {
  readonly principal?: Principal | undefined
  readonly path?: unknown
  readonly urlParams?: unknown
  readonly payload?: unknown
}) => Effect.Effect<unknown, LagrelloError, R>

/**
 * Runs `self` with `actor` as the {@link currentActor} of its fiber, restored when it ends. Not
 * `Effect.locally`: its acquire-use-release (uninterruptible regions, an exit, a finalizer) cost
 * about 12 us of CPU per get-user request in the demo server (67 -> 53-56 us, docs/performance.md);
 * getting, setting and putting back the reference are four plain steps. An interruption skips the
 * restore, and ends the fiber that ran the route.
 */
const withActor = <A, E, R>(self: Effect.Effect<A, E, R>, actor: string): Effect.Effect<A, E, R> =>
  FiberRef.getWith(currentActor, (previous) => {
    const restore = FiberRef.set(currentActor, previous)
    return Effect.zipRight(
      FiberRef.set(currentActor, actor),
      Effect.matchCauseEffect(self, {
        onFailure: (cause) => Effect.zipRight(restore, Effect.failCause(cause)),
        onSuccess: (value) => Effect.as(restore, value)
      })
    )
  })

const makeRoute = <R>(
  group: HttpApiGroup.HttpApiGroup.AnyWithProps,
  endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps,
  annotations: Context.Context<never>,
  authenticated: boolean,
  handler: AnyHandler<R>
): Route<R | Storage | ClientRateLimiter> => {
  const permission = Option.getOrUndefined(Context.getOption(annotations, RequiredPermission))
  if (authenticated && permission === undefined) {
    throw new Error(`The contract gives ${group.identifier}.${endpoint.name} a token but no RequiredPermission`)
  }
  const secret = Option.getOrElse(Context.getOption(annotations, SecretAnswer), () => false)
  const rateLimit = Option.getOrUndefined(Context.getOption(annotations, ClientRateLimit))
  const rateKey = `${group.identifier}.${endpoint.name}`
  const members = successMembers(endpoint.successSchema)
  const withBody = members.find((member) => !member.empty)
  const withoutBody = members.find((member) => member.empty)
  if (members.filter((member) => !member.empty).length > 1) {
    throw new Error(`${group.identifier}.${endpoint.name}: more than one success with a body is not supported`)
  }
  const decodePath = decoderOf(endpoint.pathSchema)
  const decodeQuery = decoderOf(endpoint.urlParamsSchema)
  const decodePayload = decoderOf(endpoint.payloadSchema)
  const successHeaders = secret ? { "cache-control": "no-store" } : {}

  const encodeSuccess = (value: unknown): Effect.Effect<Answer> => {
    const member = value === undefined && withoutBody !== undefined ? withoutBody : withBody ?? withoutBody!
    if (member.empty) return Effect.succeed({ status: member.status, headers: successHeaders, body: undefined })
    const encoded = member.encode(value)
    if (Either.isLeft(encoded)) {
      return Effect.dieMessage(`${group.identifier}.${endpoint.name}: the handler's answer does not match the contract`)
    }
    const headers = { "content-type": member.contentType, ...successHeaders }
    return Effect.succeed({
      status: member.status,
      headers,
      body: member.kind === "Json" ? JSON.stringify(encoded.right) : (encoded.right as Uint8Array)
    })
  }

  // Path, query and body, in that order (SPEC 1.8: after the token and the permission).
  const decodeRequest = (request: IncomingRequest) => {
    const path = decodeWith(decodePath, request.params, "path")
    if (Either.isLeft(path)) return path
    const urlParams = decodeWith(decodeQuery, request.query, "query")
    if (Either.isLeft(urlParams)) return urlParams
    const payload = decodeBody(decodePayload, request)
    if (Either.isLeft(payload)) return payload
    return Either.right({ path: path.right, urlParams: urlParams.right, payload: payload.right })
  }

  const run = (principal: Principal | undefined, request: IncomingRequest) => {
    const decoded = decodeRequest(request)
    return Either.isLeft(decoded)
      ? Effect.fail(decoded.left)
      : principal === undefined
      ? Effect.flatMap(handler({ principal, ...decoded.right }), encodeSuccess)
      // The events the handler writes name the caller's token as their actor.
      : Effect.flatMap(withActor(handler({ principal, ...decoded.right }), principal.tokenId), encodeSuccess)
  }

  // The steps that need no service (the permission check, decoding, encoding) are plain functions
  // between the two effects a request needs, the token lookup and the handler: one fiber and a
  // few steps per request. (As one Effect.gen with a yield per step, a get-user request took
  // about 15 us of the runtime on in-memory storage; see docs/performance.md.)
  const lacksPermission = Effect.fail(
    new Forbidden({ message: `This access token lacks the ${permission ?? "needed"} permission` })
  )
  const program = authenticated
    ? (request: IncomingRequest): Effect.Effect<Answer, LagrelloError, R | Storage | ClientRateLimiter> =>
      Effect.flatMap(
        Access.authenticate(Access.bearerToken(request.authorization)),
        (principal) => allows(principal.permissions, permission!) ? run(principal, request) : lacksPermission
      )
    : rateLimit === undefined
    ? (request: IncomingRequest): Effect.Effect<Answer, LagrelloError, R | Storage | ClientRateLimiter> => run(undefined, request)
    : (request: IncomingRequest): Effect.Effect<Answer, LagrelloError, R | Storage | ClientRateLimiter> =>
      Effect.flatMap(ClientRateLimiter, (limiter) =>
        Effect.flatMap(limiter.take(`${rateKey} ${request.clientAddress ?? "unknown"}`, rateLimit), (retryAt) =>
          retryAt === undefined
            ? run(undefined, request)
            : Effect.flatMap(Effect.clockWith((clock) => clock.currentTimeMillis), (now) =>
              Effect.fail(
                new TooManyRequests({
                  message: "Too many requests from this address; wait before trying again",
                  retryAfterSeconds: retryAfterSeconds(retryAt, now)
                })
              ))))

  const answered = (request: IncomingRequest): Effect.Effect<Answer, never, R | Storage | ClientRateLimiter> =>
    Effect.catchAllCause(program(request), (cause) => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure) && isLagrelloError(failure.value)) return Effect.succeed(errorAnswer(failure.value))
      return Effect.as(
        Effect.logError(`${group.identifier}.${endpoint.name}: defect while answering a request`, cause),
        internalAnswer
      )
    })

  // One span per request, named by the route pattern (`GET /v1/users/{userId}`), with the
  // operation's spans under it; the answer counted by status and timed (SPEC 7.1). The raw path
  // and query never reach a span or a label: they carry user ids and codes.
  const route = endpoint.path.replace(/:(\w+)/g, "{$1}")
  const recorder = requestRecorder(endpoint.method, route)
  const spanName = `${endpoint.method} ${route}`
  const spanOptions = {
    kind: "server",
    attributes: { "http.request.method": endpoint.method, "http.route": route, "lagrello.endpoint": rateKey },
    captureStackTrace: false
  } as const
  const traced = (request: IncomingRequest, clock: Clock.Clock): Effect.Effect<Answer, never, R | Storage | ClientRateLimiter> =>
    Effect.useSpan(spanName, spanOptions, (span) => {
      const start = clock.unsafeCurrentTimeNanos()
      return Effect.map(Effect.withParentSpan(answered(request), span), (answer): Answer => {
        span.attribute("http.response.status_code", answer.status)
        recorder.record(answer.status, Number(clock.unsafeCurrentTimeNanos() - start) / 1e9)
        return { ...answer, traceId: span.traceId }
      })
    })
  // Spans only where tracing is on (`Tracing`): a span costs microseconds even untraced. One step
  // reads the tracing flag and the clock (each step of Effect's costs a fraction of a microsecond).
  const handle = (request: IncomingRequest): Effect.Effect<Answer, never, R | Storage | ClientRateLimiter> =>
    Effect.withFiberRuntime((fiber) => {
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      if (isRequestTraced(fiber.currentContext)) {
        // A sampled request calls the storage with spans (when traces are exported).
        const storage = Context.getOption(fiber.currentContext, TracedStorage)
        return Option.isSome(storage)
          ? Effect.provideService(traced(request, clock), StorageTag, storage.value)
          : traced(request, clock)
      }
      const start = clock.unsafeCurrentTimeNanos()
      return Effect.map(answered(request), (answer): Answer => {
        recorder.record(answer.status, Number(clock.unsafeCurrentTimeNanos() - start) / 1e9)
        return answer
      })
    })

  return {
    group: group.identifier,
    name: endpoint.name,
    method: endpoint.method,
    path: endpoint.path,
    authenticated,
    permission: authenticated ? permission : undefined,
    successStatuses: members.map((member) => member.status),
    takesBody: decodePayload !== undefined,
    handle
  }
}

/**
 * The routes of an API from its handler table, in the contract's order. Throws when the contract
 * and the table do not fit (a missing handler, an authenticated endpoint without a permission):
 * a bug found at start-up, not at the first request.
 * @since 0.0.0
 */
export const makeRoutes = <Groups extends HttpApiGroup.HttpApiGroup.Any, E, ER, R>(
  api: HttpApi.HttpApi<string, Groups, E, ER>,
  table: Readonly<Record<string, Readonly<Record<string, unknown>>>>
): ReadonlyArray<Route<R | Storage | ClientRateLimiter>> => {
  const routes: Array<Route<R | Storage | ClientRateLimiter>> = []
  for (const group of Object.values(api.groups) as unknown as Array<HttpApiGroup.HttpApiGroup.AnyWithProps>) {
    for (const endpoint of Object.values(group.endpoints) as Array<HttpApiEndpoint.HttpApiEndpoint.AnyWithProps>) {
      const authenticated = group.middlewares.has(Authentication as never) || endpoint.middlewares.has(Authentication as never)
      const handler = table[group.identifier]?.[endpoint.name]
      if (typeof handler !== "function") {
        throw new Error(`No handler for ${group.identifier}.${endpoint.name} of the contract`)
      }
      const annotations = Context.merge(Context.merge(api.annotations, group.annotations), endpoint.annotations)
      routes.push(makeRoute(group, endpoint, annotations, authenticated, handler as AnyHandler<R>))
    }
  }
  return routes
}
