/**
 * The one Effect runtime of the module: built once from the core's composition root
 * (`Lagrello.layer`), shared by the routes, the guard and `LagrelloService`, and disposed on
 * application shutdown (closing the database and the SMTP pool, stopping the outbox worker).
 *
 * @since 0.0.0
 */
import type { LagrelloServices, StartupError, Tenants } from "@lagrello/core"
import { Bootstrap, Lagrello } from "@lagrello/core"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import type { LagrelloModuleOptions } from "./options.js"

export type { LagrelloServices }

/** @since 0.0.0 */
export type LagrelloRuntime = ManagedRuntime.ManagedRuntime<LagrelloServices | Bootstrap, StartupError>

/**
 * What the module builds at start: the runtime, and what the `bootstrap` option did.
 * @since 0.0.0
 */
export interface LagrelloContext {
  readonly runtime: LagrelloRuntime
  /** The tenant of the `bootstrap` option, with the access token generated for it, if any. */
  readonly bootstrap: Tenants.Bootstrapped | undefined
  /** Whether `GET /metrics` is served (the `telemetry.prometheus` option). */
  readonly metrics: boolean
}

/** @since 0.0.0 */
export const LAGRELLO_CONTEXT = Symbol.for("@lagrello/nest/context")

/**
 * Builds the runtime (opening the database, running migrations, applying `bootstrap`). Rejects
 * with the core's `StartupError` (reason and message) when the options cannot be used, so that a
 * misconfigured application fails at start.
 * @since 0.0.0
 */
export const createLagrelloContext = async (options: LagrelloModuleOptions): Promise<LagrelloContext> => {
  const runtime: LagrelloRuntime = ManagedRuntime.make(Lagrello.layer(options))
  const exit = await runtime.runPromiseExit(Bootstrap)
  if (Exit.isSuccess(exit)) {
    return { runtime, bootstrap: Option.getOrUndefined(exit.value), metrics: options.telemetry?.prometheus === true }
  }
  await runtime.dispose()
  const failure = Cause.failureOption(exit.cause)
  throw Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
}

