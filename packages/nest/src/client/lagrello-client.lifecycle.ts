/**
 * Disposes the client when the application shuts down (its Effect runtime is released; calls
 * made afterwards reject).
 *
 * @since 0.0.0
 */
import type { LagrelloPromiseClient } from "@lagrello/client"
import type { OnApplicationShutdown } from "@nestjs/common"
import { Injectable } from "@nestjs/common"
import { InjectLagrelloClient } from "./lagrello-client.module-definition.js"

/** @since 0.0.0 */
@Injectable()
export class LagrelloClientLifecycle implements OnApplicationShutdown {
  constructor(@InjectLagrelloClient() private readonly client: LagrelloPromiseClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.client.dispose()
  }
}
