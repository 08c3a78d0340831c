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
import type { ErrorType } from "../domain/errors.js"
import { descriptionOfErrorType, errorTypes, LagrelloErrors, TooManyRequests } from "../domain/errors.js"
import { ErrorBody } from "../domain/models.js"

/**
 * The wire schema of one typed error: encoded `{errorType, message}`, decoded the class instance.
 * @since 0.0.0
 */
export type WireError<A> = Schema.transformOrFail<typeof ErrorBody, Schema.SchemaClass<A>>

/**
 * The error class instance of the table with this `errorType`.
 * @since 0.0.0
 */
export type ErrorOf<K extends ErrorType> = InstanceType<(typeof LagrelloErrors)[K]>

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

const fromBody = <K extends ErrorType>(tag: K, message: string, raw: unknown): ErrorOf<K> => {
  const error: ErrorOf<ErrorType> = tag === "TooManyRequests"
    ? new TooManyRequests({ message, retryAfterSeconds: injectedRetryAfter(raw) })
    : new LagrelloErrors[tag as Exclude<ErrorType, "TooManyRequests">]({ message })
  return error as ErrorOf<K>
}

const makeWireError = <K extends ErrorType>(tag: K): WireError<ErrorOf<K>> => {
  const errorClass = LagrelloErrors[tag] as unknown as Schema.Schema<ErrorOf<K>, unknown>
  return Schema.transformOrFail(ErrorBody, Schema.typeSchema(errorClass), {
    strict: true,
    decode: (body, _options, ast, raw) =>
      body.errorType === tag
        ? ParseResult.succeed(fromBody(tag, body.message, raw))
        : ParseResult.fail(
          // The expected tag only: the received one is input and is not quoted back.
          new ParseResult.Type(ast, raw, `Expected errorType "${tag}"`)
        ),
    encode: (error) => ParseResult.succeed({ errorType: tag, message: error.message })
  }).annotations({
    ...HttpApiSchema.annotations({ status: HttpApiSchema.getStatusError(LagrelloErrors[tag]) }),
    // One `Error` component for every error in OpenAPI, as in the reference document.
    [SchemaAST.JSONIdentifierAnnotationId]: "Error",
    description: descriptionOfErrorType[tag]
  })
}

/**
 * Every wire error schema, by `errorType`: one per error of the table `LagrelloErrors`.
 * @since 0.0.0
 */
export const WireErrors: { readonly [K in ErrorType]: WireError<ErrorOf<K>> } = Object.fromEntries(
  errorTypes.map((tag) => [tag, makeWireError(tag)])
) as { readonly [K in ErrorType]: WireError<ErrorOf<K>> }

/** 400 `InvalidPayload` on the wire. @since 0.0.0 */
export const InvalidPayloadWire = WireErrors.InvalidPayload
/** 401 `Unauthorized` on the wire. @since 0.0.0 */
export const UnauthorizedWire = WireErrors.Unauthorized
/** 403 `Forbidden` on the wire. @since 0.0.0 */
export const ForbiddenWire = WireErrors.Forbidden
/** 404 `NotFound` on the wire. @since 0.0.0 */
export const NotFoundWire = WireErrors.NotFound
/** 409 `Conflict` on the wire. @since 0.0.0 */
export const ConflictWire = WireErrors.Conflict
/**
 * 429 `TooManyRequests` on the wire. The body is `{errorType, message}` only: the wait travels as
 * the `Retry-After` header, which a schema cannot see. Decoding therefore sets
 * `retryAfterSeconds` to the value of an optional extra `retryAfterSeconds` property (a
 * non-negative integer) when one is present in the body, and to `0` ("unknown") otherwise. A
 * client fills it from the header by adding that property to the 429 body before decoding (e.g.
 * in an `HttpClient.transformResponse` wrapper); encoding never writes it.
 * @since 0.0.0
 */
export const TooManyRequestsWire = WireErrors.TooManyRequests
/** 503 `Unavailable` on the wire. @since 0.0.0 */
export const UnavailableWire = WireErrors.Unavailable
