/**
 * `LagrelloClientModule`: for applications that use a remote Lagrello server. It provides the
 * typed Promise client of `@lagrello/client` for injection and disposes it on shutdown.
 *
 * ```ts
 * @Module({
 *   imports: [
 *     LagrelloClientModule.forRootAsync({
 *       inject: [ConfigService],
 *       useFactory: (config: ConfigService) => ({
 *         baseUrl: config.getOrThrow("LAGRELLO_URL"),
 *         accessToken: config.getOrThrow("LAGRELLO_ACCESS_TOKEN")
 *       })
 *     })
 *   ]
 * })
 * export class AppModule {}
 *
 * @Injectable()
 * export class SignIn {
 *   constructor(@InjectLagrelloClient() private readonly lagrello: LagrelloPromiseClient) {}
 *   verify(token: string) { return this.lagrello.verifyMagicLink(token) }
 * }
 * ```
 *
 * @since 0.0.0
 */
import { Module } from "@nestjs/common"
import { LagrelloClientLifecycle } from "./lagrello-client.lifecycle.js"
import type { LagrelloClientModuleOptions } from "./lagrello-client.module-definition.js"
import {
  LAGRELLO_CLIENT,
  LAGRELLO_CLIENT_OPTIONS,
  LagrelloClientConfigurableModule
} from "./lagrello-client.module-definition.js"

/** @since 0.0.0 */
@Module({
  providers: [
    {
      provide: LAGRELLO_CLIENT,
      // Rejects at start when the options are not valid (e.g. baseUrl not a URL). The client is
      // loaded here, not when @lagrello/nest is imported: applications without it start faster.
      useFactory: async (options: LagrelloClientModuleOptions) => {
        const { createLagrelloClient } = await import("@lagrello/client")
        return createLagrelloClient({
          baseUrl: options.baseUrl,
          accessToken: options.accessToken,
          timeoutMs: options.timeoutMs,
          retry: options.retry,
          fetch: options.fetch
        })
      },
      inject: [LAGRELLO_CLIENT_OPTIONS]
    },
    LagrelloClientLifecycle
  ],
  exports: [LAGRELLO_CLIENT]
})
export class LagrelloClientModule extends LagrelloClientConfigurableModule {}
