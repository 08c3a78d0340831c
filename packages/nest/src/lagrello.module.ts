/**
 * `LagrelloModule`: serves the Lagrello v1 API from a NestJS application and provides
 * `LagrelloService`.
 *
 * ```ts
 * LagrelloModule.forRoot({
 *   storage: { sqlite: "./data/lagrello.db" },
 *   encryptionKeys: process.env.LAGRELLO_ENCRYPTION_KEY!,
 *   bootstrap: { tenantName: "Acme", accessToken: process.env.LAGRELLO_ACCESS_TOKEN! }
 * })
 * ```
 *
 * @since 0.0.0
 */
import type { DynamicModule } from "@nestjs/common"
import { Module } from "@nestjs/common"
import { LagrelloAdapterSetup } from "./http/adapter.js"
import { routePrefix } from "./http/adapter.js"
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableModuleClass,
  LAGRELLO_EXTRAS,
  LAGRELLO_OPTIONS,
  OPTIONS_TYPE
} from "./lagrello.module-definition.js"
import { LagrelloService } from "./lagrello.service.js"
import { LagrelloLifecycle } from "./lifecycle.js"
import type { LagrelloModuleExtras, LagrelloModuleOptions } from "./options.js"
import { createLagrelloContext, LAGRELLO_CONTEXT } from "./runtime.js"

/** The URL before `/v1`: the application's public URL (if given) and the routes' prefix. */
const apiBaseUrl = (publicUrl: string | undefined, extras: LagrelloModuleExtras): string | undefined => {
  const prefix = routePrefix(extras)
  if (publicUrl === undefined) return prefix === "" ? undefined : prefix
  return `${publicUrl.replace(/\/+$/, "")}${prefix}`
}

// The extras go to the providers: the adapter setup mounts the routes (or not) with its prefix.
const withExtras = (definition: DynamicModule, extras: LagrelloModuleExtras): DynamicModule => ({
  ...definition,
  providers: [...(definition.providers ?? []), { provide: LAGRELLO_EXTRAS, useValue: extras }]
})

/** @since 0.0.0 */
@Module({
  providers: [
    {
      provide: LAGRELLO_CONTEXT,
      // Links in answers (the token list's paging) name the routes where they are mounted.
      useFactory: (options: LagrelloModuleOptions, extras: LagrelloModuleExtras) =>
        createLagrelloContext({ ...options, publicUrl: apiBaseUrl(options.publicUrl, extras) }),
      inject: [LAGRELLO_OPTIONS, LAGRELLO_EXTRAS]
    },
    LagrelloService,
    LagrelloLifecycle,
    LagrelloAdapterSetup
  ],
  exports: [LagrelloService, LAGRELLO_CONTEXT]
})
export class LagrelloModule extends ConfigurableModuleClass {
  /** The module with its options given directly. */
  static override forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    return withExtras(super.forRoot(options), options)
  }

  /** The module with its options from a factory (e.g. from `ConfigService`). */
  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return withExtras(super.forRootAsync(options), options)
  }
}
