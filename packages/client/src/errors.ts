/**
 * The errors of the client.
 *
 * - Answers of the server are the core's typed errors (`NotFound`, `Unauthorized`, ...) on the
 *   Effect side, and {@link LagrelloError} (one `Error` subclass with `errorType`, `status` and
 *   `retryAfter`) on the Promise side.
 * - Everything else that goes wrong between the client and the server (no connection, no answer
 *   in time, an answer that is not a Lagrello answer, e.g. a proxy's 502 page) is a
 *   {@link LagrelloTransportError}, on both sides.
 *
 * @since 0.0.0
 */
import type { ErrorType, LagrelloError as CoreError } from "@lagrello/core/contract"
import { statusOfErrorType as coreStatuses } from "@lagrello/core/contract"
import * as Data from "effect/Data"

/**
 * Every typed error a Lagrello server answers with (the `errorType` of its body): the core's
 * table of errors.
 * @since 0.0.0
 */
export type LagrelloApiError = CoreError

/**
 * The `errorType` of an error answer.
 * @since 0.0.0
 */
export type LagrelloErrorType = ErrorType

/**
 * Why a request did not get a Lagrello answer:
 * - `Network`: the server could not be reached, or the connection broke;
 * - `Timeout`: no complete answer within `timeoutMs`;
 * - `UnexpectedResponse`: the answer is not one the v1 contract allows (e.g. a proxy's 502 page,
 *   a 500, or a body that does not decode); `status` says which status it had, when known.
 * @since 0.0.0
 */
export type TransportErrorReason = "Network" | "Timeout" | "UnexpectedResponse"

/**
 * The request got no Lagrello answer. An `Error` subclass (tag `LagrelloTransportError`), failed
 * by the Effect client and thrown by the Promise client alike.
 * @since 0.0.0
 * @category errors
 */
export class LagrelloTransportError extends Data.TaggedError("LagrelloTransportError")<{
  readonly reason: TransportErrorReason
  readonly message: string
  /** The HTTP status of an unexpected answer. */
  readonly status?: number | undefined
  readonly cause?: unknown
}> {}

/**
 * Is this a {@link LagrelloTransportError}?
 * @since 0.0.0
 * @category guards
 */
export const isLagrelloTransportError = (u: unknown): u is LagrelloTransportError =>
  u instanceof LagrelloTransportError ||
  (typeof u === "object" && u !== null && "_tag" in u && u._tag === "LagrelloTransportError" && u instanceof Error)

/**
 * The HTTP status of each `errorType`, from the core's table of errors.
 * @since 0.0.0
 */
export const statusOfErrorType: Readonly<Record<LagrelloErrorType, number>> = coreStatuses

const brand: unique symbol = Symbol.for("@lagrello/client/LagrelloError") as never

/**
 * An error answer of the Lagrello server, as the Promise client throws it: `errorType` names the
 * error (`"NotFound"`, `"Unauthorized"`, ...), `status` is its HTTP status, `retryAfter` the number
 * of seconds to wait for a `TooManyRequests` (from the `Retry-After` header; `0` when the server
 * did not say). `cause` is the core's typed error.
 * @since 0.0.0
 * @category errors
 */
export class LagrelloError extends Error {
  override readonly name = "LagrelloError"
  /** The `errorType` of the answer. */
  readonly errorType: LagrelloErrorType
  /** Its HTTP status (400, 401, 403, 404, 409, 429 or 503). */
  readonly status: number
  /** Seconds to wait before trying again: set for `TooManyRequests` only. */
  readonly retryAfter: number | undefined
  /** The core's typed error. */
  override readonly cause: LagrelloApiError
  readonly [brand] = true

  constructor(error: LagrelloApiError) {
    super(error.message, { cause: error })
    this.cause = error
    this.errorType = error._tag
    this.status = statusOfErrorType[error._tag]
    this.retryAfter = error._tag === "TooManyRequests" ? error.retryAfterSeconds : undefined
  }
}

/**
 * Is this an error answer of the Lagrello server (a {@link LagrelloError})? Narrow further with
 * `errorType`.
 * @since 0.0.0
 * @category guards
 */
export const isLagrelloError = (u: unknown): u is LagrelloError =>
  u instanceof LagrelloError || (typeof u === "object" && u !== null && (u as { [brand]?: unknown })[brand] === true)
