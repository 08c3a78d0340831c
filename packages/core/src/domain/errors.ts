/**
 * The typed errors of the Lagrello v1 API. Each is a `Schema.TaggedError` whose tag is the wire
 * `errorType` and which carries its HTTP status, so the contract, the server and the client agree.
 *
 * @since 0.0.0
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"

/**
 * 400: the request's parameters or body are not valid.
 * @since 0.0.0
 */
export class InvalidPayload extends Schema.TaggedError<InvalidPayload>()(
  "InvalidPayload",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {}

/**
 * 401: the end user's magic-link token or TOTP code is wrong, expired or already used.
 * DO NOT authenticate the user.
 * @since 0.0.0
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401 })
) {}

/**
 * 403: the access token is missing, wrong, revoked or lacks the permission.
 * @since 0.0.0
 */
export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 403 })
) {}

/**
 * 404: the user (or token) does not exist in the caller's tenant.
 * @since 0.0.0
 */
export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

/**
 * 409: the user already exists.
 * @since 0.0.0
 */
export class Conflict extends Schema.TaggedError<Conflict>()(
  "Conflict",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}

/**
 * 429: too many attempts; retry after `retryAfterSeconds` (sent as the `Retry-After` header).
 * @since 0.0.0
 */
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()(
  "TooManyRequests",
  { message: Schema.String, retryAfterSeconds: Schema.Int },
  HttpApiSchema.annotations({ status: 429 })
) {}

/**
 * 503: a dependency (the database) is unreachable; nothing was changed, or the outcome is unknown
 * and the request must not be retried blindly.
 * @since 0.0.0
 */
export class Unavailable extends Schema.TaggedError<Unavailable>()(
  "Unavailable",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {}

/**
 * Every error a Lagrello operation can answer with.
 * @since 0.0.0
 */
export type LagrelloError =
  | InvalidPayload
  | Unauthorized
  | Forbidden
  | NotFound
  | Conflict
  | TooManyRequests
  | Unavailable

/**
 * Whole seconds until `retryAt`, at least 1 (the `Retry-After` value).
 * @since 0.0.0
 */
export const retryAfterSeconds = (retryAtMillis: number, nowMillis: number): number =>
  Math.max(1, Math.ceil((retryAtMillis - nowMillis) / 1000))
