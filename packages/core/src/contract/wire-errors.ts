/**
 * The wire form of the typed errors (SPEC 1.3): every error answer is exactly
 * `{"errorType": "<tag>", "message": "..."}`, documented in OpenAPI as the one shared `Error`
 * component.
 *
 * Each schema here is a transformation from the domain `ErrorBody` struct to the error class
 * itself: encoding an instance gives the two-property body, decoding a body gives back an instance
 * of the class (so `HttpApiClient` callers can `Effect.catchTag("NotFound", ...)`), and decoding a
 * body whose `errorType` names another error fails.
 *
 * @since 0.0.0
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import {
  Conflict,
  Forbidden,
  InvalidPayload,
  NotFound,
  TooManyRequests,
  Unauthorized,
  Unavailable
} from "../domain/errors.js"
import { ErrorBody } from "../domain/models.js"

/**
 * The wire schema of one typed error: encoded `{errorType, message}`, decoded the class instance.
 * @since 0.0.0
 */
export type WireError<A> = Schema.transformOrFail<typeof ErrorBody, Schema.SchemaClass<A>>

const makeWireError = <A extends { readonly _tag: string; readonly message: string }, I>(
  errorClass: Schema.Schema<A, I> & { readonly _tag: A["_tag"] },
  fromBody: (message: string, raw: unknown) => A,
  description: string
): WireError<A> => {
  const tag = errorClass._tag
  return Schema.transformOrFail(ErrorBody, Schema.typeSchema(errorClass), {
    strict: true,
    decode: (body, _options, ast, raw) =>
      body.errorType === tag
        ? ParseResult.succeed(fromBody(body.message, raw))
        : ParseResult.fail(
          new ParseResult.Type(ast, raw, `Expected errorType "${tag}", got ${JSON.stringify(body.errorType)}`)
        ),
    encode: (error) => ParseResult.succeed({ errorType: tag, message: error.message })
  }).annotations({
    ...HttpApiSchema.annotations({ status: HttpApiSchema.getStatusError(errorClass) }),
    // One `Error` component for every error in OpenAPI, as in the reference document.
    [SchemaAST.JSONIdentifierAnnotationId]: "Error",
    description
  })
}

/**
 * The name of the optional extra property a client may add to a 429 body before decoding it,
 * to carry the `Retry-After` header's value into `TooManyRequests.retryAfterSeconds`. The server
 * never sends it (the wire body is exactly `{errorType, message}`).
 * @since 0.0.0
 */
export const RetryAfterSecondsField = "retryAfterSeconds"

const injectedRetryAfter = (raw: unknown): number => {
  if (typeof raw !== "object" || raw === null || !(RetryAfterSecondsField in raw)) return 0
  const value: unknown = (raw as Record<typeof RetryAfterSecondsField, unknown>)[RetryAfterSecondsField]
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : 0
}

/**
 * 400 `InvalidPayload` on the wire.
 * @since 0.0.0
 */
export const InvalidPayloadWire: WireError<InvalidPayload> = makeWireError(
  InvalidPayload,
  (message) => new InvalidPayload({ message }),
  "The payload of the request is not valid"
)

/**
 * 401 `Unauthorized` on the wire.
 * @since 0.0.0
 */
export const UnauthorizedWire: WireError<Unauthorized> = makeWireError(
  Unauthorized,
  (message) => new Unauthorized({ message }),
  "End users token is wrong, DO NOT authenticate user"
)

/**
 * 403 `Forbidden` on the wire.
 * @since 0.0.0
 */
export const ForbiddenWire: WireError<Forbidden> = makeWireError(
  Forbidden,
  (message) => new Forbidden({ message }),
  "The access token used to access resource is wrong"
)

/**
 * 404 `NotFound` on the wire.
 * @since 0.0.0
 */
export const NotFoundWire: WireError<NotFound> = makeWireError(
  NotFound,
  (message) => new NotFound({ message }),
  "The user (or token) could not be found"
)

/**
 * 409 `Conflict` on the wire.
 * @since 0.0.0
 */
export const ConflictWire: WireError<Conflict> = makeWireError(
  Conflict,
  (message) => new Conflict({ message }),
  "Returned when user already exist"
)

/**
 * 429 `TooManyRequests` on the wire. The body is `{errorType, message}` only: the wait travels as
 * the `Retry-After` header, which a schema cannot see. Decoding therefore sets
 * `retryAfterSeconds` to the value of an optional extra `retryAfterSeconds` property (a
 * non-negative integer) when one is present in the body, and to `0` ("unknown") otherwise. A
 * client fills it from the header by adding that property to the 429 body before decoding (e.g.
 * in an `HttpClient.transformResponse` wrapper); encoding never writes it.
 * @since 0.0.0
 */
export const TooManyRequestsWire: WireError<TooManyRequests> = makeWireError(
  TooManyRequests,
  (message, raw) => new TooManyRequests({ message, retryAfterSeconds: injectedRetryAfter(raw) }),
  "Too many attempts: retry after the number of seconds in the Retry-After header"
)

/**
 * 503 `Unavailable` on the wire.
 * @since 0.0.0
 */
export const UnavailableWire: WireError<Unavailable> = makeWireError(
  Unavailable,
  (message) => new Unavailable({ message }),
  "A dependency of the service (the database) is unavailable"
)

/**
 * Every wire error schema, by `errorType`.
 * @since 0.0.0
 */
export const WireErrors = {
  InvalidPayload: InvalidPayloadWire,
  Unauthorized: UnauthorizedWire,
  Forbidden: ForbiddenWire,
  NotFound: NotFoundWire,
  Conflict: ConflictWire,
  TooManyRequests: TooManyRequestsWire,
  Unavailable: UnavailableWire
} as const
