/**
 * Runs core programs on the module's runtime for the controllers.
 *
 * @since 0.0.0
 */
import { Inject, Injectable } from "@nestjs/common"
import type { Effect } from "effect"
import type { LagrelloContext, LagrelloServices } from "../runtime.js"
import { LAGRELLO_CONTEXT } from "../runtime.js"
import { valueOrThrow } from "./errors.js"

/** @since 0.0.0 */
@Injectable()
export class LagrelloRunner {
  constructor(@Inject(LAGRELLO_CONTEXT) private readonly context: LagrelloContext) {}

  /** The program's value, or throws its typed error for the exception filter. */
  async run<A, E>(program: Effect.Effect<A, E, LagrelloServices>): Promise<A> {
    return valueOrThrow(await this.context.runtime.runPromiseExit(program))
  }
}
