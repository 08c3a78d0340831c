/**
 * The options of the PostgreSQL storage, apart from the adapter so that configuration types can
 * name them without loading the driver's types.
 *
 * @since 0.0.0
 */
import type * as Redacted from "effect/Redacted"
import type { ConnectionOptions } from "node:tls"

/** @since 0.0.0 */
export interface PgStorageOptions {
  /** `postgres://user:password@host:port/database?sslmode=...` (never logged nor put in errors). */
  readonly url: string | Redacted.Redacted<string>
  /** Connections per process (per replica). Default 10. */
  readonly maxConnections?: number | undefined
  /**
   * The server-side `statement_timeout` of every connection. Default 5000 ms. The client gives up
   * reading an answer 2 s after it (a network that drops packets), and a transaction left idle
   * for twice this time is rolled back by the server (a frozen replica does not hold locks).
   */
  readonly statementTimeoutMillis?: number | undefined
  /** Opening a connection, and waiting for a free one when the pool is exhausted. Default 3000 ms. */
  readonly connectTimeoutMillis?: number | undefined
  /** Idle connections are closed after this. Default 30000 ms. */
  readonly idleTimeoutMillis?: number | undefined
  /**
   * The `statement_timeout` of the migrations run at start (which may wait for another replica
   * that is migrating). Default 60000 ms.
   */
  readonly migrationTimeoutMillis?: number | undefined
  /** TLS options for the connections (otherwise as the URL's `sslmode` says). */
  readonly ssl?: boolean | ConnectionOptions | undefined
  /** Shown in `pg_stat_activity`. Default `lagrello`. */
  readonly applicationName?: string | undefined
}

