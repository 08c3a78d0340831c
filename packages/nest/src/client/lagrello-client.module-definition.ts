/**
 * The configurable definition of `LagrelloClientModule` (`forRoot` / `forRootAsync`), its
 * injection tokens and the `@InjectLagrelloClient()` decorator.
 *
 * @since 0.0.0
 */
import type { LagrelloClientOptions } from "@lagrello/client"
import { ConfigurableModuleBuilder, Inject } from "@nestjs/common"

/**
 * Options fixed when the module is imported.
 * @since 0.0.0
 */
export interface LagrelloClientModuleExtras {
  /** Register the module globally (default false). */
  readonly isGlobal?: boolean
}

/**
 * The options of `LagrelloClientModule`: those of `createLagrelloClient` (`baseUrl`,
 * `accessToken`, `timeoutMs`, `retry`, `fetch`).
 * @since 0.0.0
 */
export type LagrelloClientModuleOptions = LagrelloClientOptions

/** @since 0.0.0 */
export const {
  ConfigurableModuleClass: LagrelloClientConfigurableModule,
  MODULE_OPTIONS_TOKEN: LAGRELLO_CLIENT_OPTIONS,
  OPTIONS_TYPE: LAGRELLO_CLIENT_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: LAGRELLO_CLIENT_ASYNC_OPTIONS_TYPE
} = new ConfigurableModuleBuilder<LagrelloClientModuleOptions>({ moduleName: "LagrelloClient" })
  .setClassMethodName("forRoot")
  .setExtras<LagrelloClientModuleExtras>({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal ?? false
  }))
  .build()

/**
 * The injection token of the Promise client (`LagrelloPromiseClient` from `@lagrello/client`).
 * @since 0.0.0
 */
export const LAGRELLO_CLIENT = Symbol.for("@lagrello/nest/client")

/**
 * Injects the client: `constructor(@InjectLagrelloClient() private readonly lagrello: LagrelloPromiseClient)`.
 * @since 0.0.0
 */
export const InjectLagrelloClient = (): PropertyDecorator & ParameterDecorator => Inject(LAGRELLO_CLIENT)
