/**
 * The options of `LagrelloModule.forRoot` / `forRootAsync`: the core's server configuration
 * (`LagrelloConfig`, one definition for the module, the demo and the tests), and the extras fixed
 * when the module is imported.
 *
 * @since 0.0.0
 */
import type { LagrelloConfig, MailConfig, StorageConfig } from "@lagrello/core"

/**
 * The module's options: see `LagrelloConfig` of `@lagrello/core` (storage, mail, encryption
 * keys, policies, bootstrap, outbox, purge, logger).
 * @since 0.0.0
 */
export type LagrelloModuleOptions = LagrelloConfig

/**
 * Where users, links and secrets are kept.
 * @since 0.0.0
 */
export type StorageOption = StorageConfig

/**
 * How e-mail leaves the outbox.
 * @since 0.0.0
 */
export type MailOption = MailConfig

/**
 * Options fixed when the module is imported (they shape the module itself, so they cannot come
 * from an async factory).
 * @since 0.0.0
 */
export interface LagrelloModuleExtras {
  /** Serve the Lagrello v1 API routes (default true). */
  readonly routes?: boolean
  /** A path prefix for the v1 routes, e.g. `"auth"` serves `/auth/v1/users` (default none). */
  readonly prefix?: string
  /** Register the module globally (default false). */
  readonly isGlobal?: boolean
}
