/**
 * From an Effect exit to what a Promise API rejects with: the core's typed errors as they are;
 * anything else (a bug, an interruption) as a {@link LagrelloDefect} carrying the cause.
 *
 * @since 0.0.0
 */
import { isLagrelloError } from "@lagrello/core"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"

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
