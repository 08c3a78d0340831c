/**
 * The module's configurable definition (`forRoot` / `forRootAsync`), in the manner of
 * `@nestjs/throttler` and `@nestjs/cache-manager`.
 *
 * @since 0.0.0
 */
import { ConfigurableModuleBuilder } from "@nestjs/common"
import type { LagrelloModuleExtras, LagrelloModuleOptions } from "./options.js"

const extrasDefaults: Required<LagrelloModuleExtras> = { routes: true, prefix: "", isGlobal: false }

/** @since 0.0.0 */
export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: LAGRELLO_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE
} = new ConfigurableModuleBuilder<LagrelloModuleOptions>({ moduleName: "Lagrello" })
  .setClassMethodName("forRoot")
  .setExtras<LagrelloModuleExtras>(extrasDefaults, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal ?? false
  }))
  .build()

/** The resolved `extras` of the imported module, for the route wiring. @since 0.0.0 */
export const LAGRELLO_EXTRAS = Symbol.for("@lagrello/nest/extras")
