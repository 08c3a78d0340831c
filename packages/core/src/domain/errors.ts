/**
 * The typed errors of the Lagrello v1 API, and the one table of them. Each is a
 * `Schema.TaggedError` whose tag is the wire `errorType` and which carries its HTTP status and
 * description as annotations; {@link LagrelloErrors} lists them, and everything else (the
 * {@link LagrelloError} union, the status table, the wire schemas of `contract/wire-errors.ts`,
 * the client's error types, the server's answers) is derived from it.
 *
 * @since 0.0.0
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"

/**
 * 400: the request's parameters or body are not valid.
 * @since 0.0.0
 */
export class InvalidPayload extends Schema.TaggedError<InvalidPayload>()(
  "InvalidPayload",
  { message: Schema.String },
  { ...HttpApiSchema.annotations({ status: 400 }), description: "The payload of the request is not valid" }
) {}

/**
 * 401: the end user's magic-link token or TOTP code is wrong, expired or already used.
 * DO NOT authenticate the user.
 * @since 0.0.0
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  { ...HttpApiSchema.annotations({ status: 401 }), description: "End users token is wrong, DO NOT authenticate user" }
) {}

/**
 * 403: the access token is missing, wrong, revoked or lacks the permission.
 * @since 0.0.0
 */
export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  { message: Schema.String },
  { ...HttpApiSchema.annotations({ status: 403 }), description: "The access token used to access resource is wrong" }
) {}

/**
 * 404: the user (or token) does not exist in the caller's tenant.
 * @since 0.0.0
 */
export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  { message: Schema.String },
  { ...HttpApiSchema.annotations({ status: 404 }), description: "The user (or token) could not be found" }
) {}

/**
 * 409: the user already exists.
 * @since 0.0.0
 */
export class Conflict extends Schema.TaggedError<Conflict>()(
  "Conflict",
  { message: Schema.String },
  { ...HttpApiSchema.annotations({ status: 409 }), description: "Returned when user already exist" }
) {}

/**
 * 429: too many attempts; retry after `retryAfterSeconds` (sent as the `Retry-After` header).
 * @since 0.0.0
 */
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()(
  "TooManyRequests",
  { message: Schema.String, retryAfterSeconds: Schema.Int },
  {
    ...HttpApiSchema.annotations({ status: 429 }),
    description: "Too many attempts: retry after the number of seconds in the Retry-After header"
  }
) {}

/**
 * 503: a dependency (the database) is unreachable; nothing was changed, or the outcome is unknown
 * and the request must not be retried blindly.
 * @since 0.0.0
 */
export class Unavailable extends Schema.TaggedError<Unavailable>()(
  "Unavailable",
  { message: Schema.String },
  { ...HttpApiSchema.annotations({ status: 503 }), description: "A dependency of the service (the database) is unavailable" }
) {}

/**
 * The one table of the API's typed errors, by `errorType`. Add an error here (and its class
 * above) and the contract, server, client and OpenAPI document know it.
 * @since 0.0.0
 */
export const LagrelloErrors = {
  InvalidPayload,
  Unauthorized,
  Forbidden,
  NotFound,
  Conflict,
  TooManyRequests,
  Unavailable
} as const

/**
 * The `errorType` of an error answer.
 * @since 0.0.0
 */
export type ErrorType = keyof typeof LagrelloErrors

/**
 * Every error a Lagrello operation can answer with.
 * @since 0.0.0
 */
export type LagrelloError = InstanceType<(typeof LagrelloErrors)[ErrorType]>

/**
 * Every `errorType`, in the table's order.
 * @since 0.0.0
 */
export const errorTypes: ReadonlyArray<ErrorType> = Object.keys(LagrelloErrors) as Array<ErrorType>

/**
 * The HTTP status of each `errorType`, read from the classes' annotations.
 * @since 0.0.0
 */
export const statusOfErrorType: Readonly<Record<ErrorType, number>> = Object.fromEntries(
  errorTypes.map((tag) => [tag, HttpApiSchema.getStatusError(LagrelloErrors[tag])])
) as Record<ErrorType, number>

// A class's own annotations sit on the type side of its transformation.
const classAnnotated = (ast: SchemaAST.AST): SchemaAST.AST => (ast._tag === "Transformation" ? ast.to : ast)

/**
 * The description of each `errorType` (what the OpenAPI document says of it).
 * @since 0.0.0
 */
export const descriptionOfErrorType: Readonly<Record<ErrorType, string>> = Object.fromEntries(
  errorTypes.map((tag) => [
    tag,
    Option.getOrElse(SchemaAST.getDescriptionAnnotation(classAnnotated(LagrelloErrors[tag].ast)), () => tag)
  ])
) as Record<ErrorType, string>

/**
 * The `errorType` a status stands for, when one of the table's errors has it.
 * @since 0.0.0
 */
export const errorTypeOfStatus = (status: number): ErrorType | undefined =>
  errorTypes.find((tag) => statusOfErrorType[tag] === status)

/**
 * Is this one of the typed errors of the table (by its tag, so that copies from another instance
 * of the package count too)?
 * @since 0.0.0
 */
export const isLagrelloError = (u: unknown): u is LagrelloError =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string" &&
  Object.hasOwn(LagrelloErrors, u._tag) && u instanceof Error

/**
 * The wire body of an answer to a defect (a bug, or a failure that is none of the typed errors):
 * `500`, logged with its cause on the server, never with the request.
 * @since 0.0.0
 */
export const internalErrorBody = {
  errorType: "Internal",
  message: "The server failed to answer this request; it has been logged"
} as const

/**
 * Whole seconds until `retryAt`, at least 1 (the `Retry-After` value).
 * @since 0.0.0
 */
export const retryAfterSeconds = (retryAtMillis: number, nowMillis: number): number =>
  Math.max(1, Math.ceil((retryAtMillis - nowMillis) / 1000))
