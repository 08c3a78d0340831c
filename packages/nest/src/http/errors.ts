/**
 * From an Effect exit to an HTTP answer: typed errors keep their status and `{errorType,
 * message}` body; defects become a generic 500 and are logged with their cause.
 *
 * @since 0.0.0
 */
import type { LagrelloError } from "@lagrello/core"
import { InvalidPayload, WireErrors } from "@lagrello/core"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"

/** The status of each `errorType`, read from the contract's wire errors (one definition). */
export const statusOf: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(WireErrors).map(([tag, schema]) => [tag, HttpApiSchema.getStatusError(schema)])
)

/** The `errorType` a status answers with when no typed error says otherwise. */
export const errorTypeOfStatus = (status: number): string =>
  Object.entries(statusOf).find(([, s]) => s === status)?.[0] ?? (status >= 500 ? "Internal" : "InvalidPayload")

/** Is this one of the typed errors of the core? */
export const isLagrelloError = (u: unknown): u is LagrelloError =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string" && u._tag in statusOf

/**
 * A failure that is not a typed error (a bug, an interruption): answered as a generic 500, its
 * cause logged.
 * @since 0.0.0
 */
export class LagrelloDefect extends Error {
  constructor(override readonly cause: Cause.Cause<unknown>) {
    super("Lagrello defect")
    this.name = "LagrelloDefect"
  }
}

/** The value of a successful exit, or throws its typed error (or a LagrelloDefect). */
export const valueOrThrow = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure) && isLagrelloError(failure.value)) throw failure.value
  throw new LagrelloDefect(exit.cause)
}

/** A 400 for request bodies and parameters that do not decode. */
export const invalidPayload = (message: string) => new InvalidPayload({ message })
