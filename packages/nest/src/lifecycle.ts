/**
 * Releases the runtime when the application shuts down (after the HTTP server stopped accepting
 * and finished its requests): the outbox worker stops, the database and SMTP pool close.
 *
 * @since 0.0.0
 */
import type { OnApplicationShutdown } from "@nestjs/common"
import { Inject, Injectable } from "@nestjs/common"
import type { LagrelloContext } from "./runtime.js"
import { LAGRELLO_CONTEXT } from "./runtime.js"

/** @since 0.0.0 */
@Injectable()
export class LagrelloLifecycle implements OnApplicationShutdown {
  constructor(@Inject(LAGRELLO_CONTEXT) private readonly context: LagrelloContext) {}

  async onApplicationShutdown(): Promise<void> {
    await this.context.runtime.dispose()
  }
}
