/**
 * The options of `LagrelloModule.forRoot` / `forRootAsync`.
 *
 * @since 0.0.0
 */
import type { Keyring, PolicySettings, Storage } from "@lagrello/core"
import type { PgStorageOptions } from "@lagrello/core/pg"
import type { SmtpOptions } from "@lagrello/core/smtp"
import type * as Layer from "effect/Layer"
import type * as Logger from "effect/Logger"

/**
 * Where users, links and secrets are kept.
 * @since 0.0.0
 */
export type StorageOption =
  /** A SQLite database file (created with its folder when missing): the embedded default. */
  | { readonly sqlite: string }
  /**
   * PostgreSQL, for several replicas sharing one database: its URL
   * (`postgres://user:password@host:5432/db`), or the pool options (size, statement timeout).
   */
  | { readonly postgres: string | PgStorageOptions }
  /** In process memory: for tests only, nothing survives a restart. */
  | { readonly memory: true }
  /** Any storage layer, e.g. one you wrote. */
  | { readonly layer: Layer.Layer<Storage, unknown> }

/**
 * How e-mail leaves the outbox.
 * @since 0.0.0
 */
export type MailOption =
  /**
   * An SMTP server: its URL, e.g. `smtp://user:pass@mail.example.com:587`, and sender, plus any
   * option of `layerSmtp` from `@lagrello/core/smtp` (pool size, timeouts, TLS).
   */
  | { readonly smtp: SmtpOptions }
  /**
   * The development mailbox: messages stay in the outbox, each link is printed on the console.
   * Never use it in production.
   */
  | { readonly development: true }

/**
 * @since 0.0.0
 */
export interface LagrelloModuleOptions {
  readonly storage: StorageOption
  /** Default: the development mailbox. */
  readonly mail?: MailOption | undefined
  /**
   * The AES-256-GCM keys sealing TOTP secrets and queued messages: a keyring, or its string form
   * `"k2:BASE64,k1:BASE64"` (first = active; older keys still open what they sealed) or a single
   * base64 key of 32 bytes.
   */
  readonly encryptionKeys: string | Keyring
  /** Link lifetime, send throttle, TOTP failure limit and back-off; documented defaults otherwise. */
  readonly policies?: Partial<PolicySettings> | undefined
  /**
   * Makes sure this tenant exists and holds this ADMIN access token at start, so a fresh server can
   * be used at once.
   */
  readonly bootstrap?:
    | {
        readonly tenantName: string
        readonly accessToken: string
        readonly callbackUrl?: string | undefined
      }
    | undefined
  /** The outbox delivery worker (on by default; turn off on processes that must not send mail). */
  readonly outbox?: { readonly enabled?: boolean; readonly pollIntervalMillis?: number } | undefined
  /**
   * Deleting expired links and finished messages once the send throttle no longer needs them
   * (on by default, every 10 minutes; safe on every replica).
   */
  readonly purge?: { readonly enabled?: boolean; readonly intervalMillis?: number } | undefined
  /**
   * The Effect logger of the module's runtime, in place of Effect's default (logfmt) one: every
   * line the core writes (the outbox worker, the development mailbox, errors) goes through it, so
   * an application can write them in its own format.
   */
  readonly logger?: Logger.Logger<unknown, void> | undefined
}

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
