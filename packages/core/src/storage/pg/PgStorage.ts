/**
 * The PostgreSQL storage layer: several stateless replicas share one database (SPEC 4.1).
 *
 * Built on `@effect/sql-pg` over a `pg` pool configured here (size, connect timeout, a
 * server-side `statement_timeout` and a client-side read timeout), so that a database that is
 * down, slow or cut off answers `Unavailable` within seconds instead of hanging a request.
 *
 * Every rule that must hold across replicas is one statement or one transaction, correct under
 * PostgreSQL's default READ COMMITTED isolation: a row-level conflict makes the later writer wait
 * for the earlier one and re-check its WHERE clause on the committed row, so the conditions in
 * the WHERE clauses below (unused, unlocked, later step, not leased) are the guards. Nothing is
 * cached in the process: a revoked token is refused on the next request by every replica.
 *
 * Nothing is retried: a write whose outcome is unknown (the connection broke after the statement
 * was sent) answers `Unavailable`, and a consumed link stays consumed.
 *
 * @since 0.0.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import type { SqlClient } from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { ConnectionOptions } from "node:tls"
import * as Pg from "pg"
import { Unavailable } from "../../domain/errors.js"
import { makeHandoffWatch } from "../handoffWatch.js"
import { lockoutEnd, maxLockoutLevel } from "../lockout.js"
import type { AttemptRow, DeliveryRow, EventRow, EventsOf, NewEvent, WebhookRow } from "../events.js"
import {
  claimedOfRow,
  deliveriesOfRows,
  encodeTypeList,
  eventJson,
  eventOfRow,
  newEventId,
  startCursor,
  webhookOfRow
} from "../events.js"
import type { HandoffRead, OutboxRecord, SealedKind, StorageService } from "../Storage.js"
import { Storage } from "../Storage.js"
import type { ExportRow, OutboxRow, SealedRow, TenantRow, TokenRow, TotpRow, UserRow } from "../rows.js"
import type { PgStorageOptions } from "./options.js"
import { exported, outbox, tenant, token, totp, user } from "../rows.js"
import { migrationLockKey, migrations } from "./migrations.js"

export type { PgStorageOptions } from "./options.js"

interface Settings {
  readonly url: string
  readonly target: string
  readonly maxConnections: number
  readonly statementTimeoutMillis: number
  readonly connectTimeoutMillis: number
  readonly idleTimeoutMillis: number
  readonly migrationTimeoutMillis: number
  readonly ssl: boolean | ConnectionOptions | undefined
  readonly applicationName: string
}

/** How long after the server's statement timeout the client stops waiting for an answer. */
const readTimeoutMarginMillis = 2000

const settingsOf = (options: PgStorageOptions): Settings => {
  const url = Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url
  return {
    url,
    target: describeTarget(url),
    maxConnections: options.maxConnections ?? 10,
    statementTimeoutMillis: options.statementTimeoutMillis ?? 5000,
    connectTimeoutMillis: options.connectTimeoutMillis ?? 3000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
    migrationTimeoutMillis: options.migrationTimeoutMillis ?? 60_000,
    ssl: options.ssl,
    applicationName: options.applicationName ?? "lagrello"
  }
}

/** `host:port/database` of a URL, without its credentials, for error messages. */
const describeTarget = (url: string): string => {
  try {
    const parsed = new URL(url)
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""))
    return `${parsed.hostname || "localhost"}:${parsed.port || "5432"}${database ? `/${database}` : ""}`
  } catch {
    return "the configured PostgreSQL server"
  }
}

// ---------------------------------------------------------------------------------------------
// Errors: what means "the database cannot be used right now" (503) rather than a bug (a defect).

/** SQLSTATE classes and codes that say the database is unreachable, overloaded or shutting down. */
const unavailableStates = new Set([
  "25P03", // idle_in_transaction_session_timeout
  "3D000", // the database does not exist (dropped, or not created yet)
  "40001", // serialization_failure
  "40003", // statement_completion_unknown
  "40P01", // deadlock_detected (rolled back)
  "55P03", // lock_not_available
  "XX001", // data_corrupted
  "XX002" // index_corrupted
])
const unavailableClasses = new Set([
  "08", // connection exception
  "28", // invalid authorization (credentials rotated or wrong)
  "53", // insufficient resources: too many connections, disk full, out of memory
  "57", // operator intervention: query_canceled (statement_timeout), admin/crash shutdown
  "58" // system error (I/O)
])

const isDatabaseError = (cause: unknown): cause is { readonly code: string } =>
  cause instanceof Pg.DatabaseError ||
  (typeof cause === "object" &&
    cause !== null &&
    "severity" in cause &&
    "code" in cause &&
    typeof cause.code === "string" &&
    /^[0-9A-Z]{5}$/.test(cause.code))

/**
 * True when the cause of a failed statement means the database is unavailable. An error the
 * server answered is judged by its SQLSTATE (a syntax error, a constraint violation or a bad
 * value is a bug); an error without one comes from the connection, the pool or a timeout of the
 * driver (refused, reset, terminated, "timeout exceeded when trying to connect", "Query read
 * timeout"), except the JavaScript errors that only a programming mistake raises.
 */
const isUnavailableCause = (cause: unknown): boolean => {
  if (isDatabaseError(cause)) {
    // protocol_violation is what a wrong number of parameters gives: a bug.
    if (cause.code === "08P01") return false
    return unavailableStates.has(cause.code) || unavailableClasses.has(cause.code.slice(0, 2))
  }
  return !(
    cause instanceof TypeError ||
    cause instanceof RangeError ||
    cause instanceof ReferenceError ||
    cause instanceof SyntaxError
  )
}

const unavailable = () => new Unavailable({ message: "The database is unavailable; try again shortly" })

/**
 * Runs one storage step: an unavailable database fails with `Unavailable`, anything else is a
 * defect. `@effect/sql` turns a failed COMMIT or ROLLBACK into a defect carrying the `SqlError`:
 * a COMMIT that broke with the connection has an unknown outcome, and is `Unavailable` too.
 */
const guard = <A>(effect: Effect.Effect<A, SqlError>): Effect.Effect<A, Unavailable> =>
  effect.pipe(
    Effect.catchAll((error) => (isUnavailableCause(error.cause) ? Effect.fail(unavailable()) : Effect.die(error))),
    Effect.catchSomeDefect((defect) =>
      defect instanceof SqlError && isUnavailableCause(defect.cause) ? Option.some(Effect.fail(unavailable())) : Option.none()
    )
  )

// ---------------------------------------------------------------------------------------------
// The pool.

/**
 * A `pg` client that closes its connection when an answer does not arrive in time ("Query read
 * timeout": the network drops packets). Without this the timed-out statement stays active on the
 * connection, which goes back to the pool and blocks every later statement sent on it until the
 * operating system gives up on the socket, many minutes later.
 */
class GuardedClient extends Pg.Client {
  constructor(config?: string | Pg.ClientConfig) {
    super(config)
    const query = this.query.bind(this) as unknown as (...args: Array<unknown>) => unknown
    this.query = ((...args: Array<unknown>) => {
      const last = args.length - 1
      const callback = args[last]
      if (typeof callback === "function") {
        args[last] = (error: unknown, result: unknown) => {
          // `end` with a statement in flight destroys the socket; the pool then drops the client.
          if (error instanceof Error && error.message === "Query read timeout") this.end().catch(() => undefined)
          ;(callback as (error: unknown, result: unknown) => void)(error, result)
        }
      }
      return query(...args)
    }) as unknown as Pg.Client["query"]
  }
}

// bigint (epoch milliseconds, counts) as a JavaScript number: every value the schema holds is far
// below 2^53. A larger one would be a bug, and fails loudly rather than losing precision.
const parseInt8 = (value: string): number => {
  const n = Number(value)
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${value} is not a safe integer`)
  return n
}
const types: Pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === Pg.types.builtins.INT8 && format !== "binary"
      ? parseInt8
      : Pg.types.getTypeParser(oid, format ?? "text")) as Pg.CustomTypesConfig["getTypeParser"]
}

/** Resolves with the promise, or after `millis` of real time (not Effect's clock, which tests control). */
const settleWithin = (promise: Promise<unknown>, millis: number) =>
  Effect.promise(
    () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, millis)
        timer.unref()
        promise.then(
          () => resolve(),
          () => resolve()
        )
      })
  )

const makePool = (settings: Settings, statementTimeoutMillis: number, max: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const pool = new Pg.Pool({
        connectionString: settings.url,
        ...(settings.ssl !== undefined ? { ssl: settings.ssl } : {}),
        Client: GuardedClient,
        max,
        connectionTimeoutMillis: settings.connectTimeoutMillis,
        idleTimeoutMillis: settings.idleTimeoutMillis,
        statement_timeout: statementTimeoutMillis,
        query_timeout: statementTimeoutMillis + readTimeoutMarginMillis,
        idle_in_transaction_session_timeout: 2 * statementTimeoutMillis,
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
        application_name: settings.applicationName,
        types
      })
      // An idle connection that breaks is dropped by the pool; without a listener the error
      // event would crash the process.
      pool.on("error", () => undefined)
      return pool
    }),
    (pool) => settleWithin(pool.end(), 2000)
  )

/** The `@effect/sql` client over a pool of ours, and that pool (for {@link readOnPool}). */
const makeClient = (settings: Settings, statementTimeoutMillis: number, max: number) =>
  Effect.flatMap(makePool(settings, statementTimeoutMillis, max), (pool) =>
    PgClient.fromPool({ acquire: Effect.succeed(pool), applicationName: settings.applicationName }).pipe(
      Effect.provideServiceEffect(Reactivity.Reactivity, Reactivity.make),
      Effect.map((sql) => ({ sql, pool }))
    ))

/**
 * One statement on its own (outside any transaction), straight on the pool: for the reads every
 * request makes (the access token, the user). `@effect/sql`'s statement path (a span, a scope for
 * the connection, the template compiled on every run) cost 124 us of CPU per get-user SELECT here,
 * against 50 us for `pool.query` with the same pool, text and parameters (5,000 sequential runs
 * each, after a warm-up round, process pinned to one core). The pool's clients are the same
 * `GuardedClient`s with the same timeouts and type parsers, and errors are classified by
 * {@link guard} as `@effect/sql`'s are.
 */
const readOnPool = <Row>(pool: Pg.Pool, text: string, values: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<Row>, Unavailable> =>
  guard(
    Effect.async<ReadonlyArray<Row>, SqlError>((resume) => {
      pool.query(text, [...values], (error: Error | undefined, result: Pg.QueryResult | undefined) => {
        resume(
          error !== undefined && error !== null
            ? Effect.fail(new SqlError({ cause: error, message: "Failed to execute statement" }))
            : Effect.succeed((result?.rows ?? []) as ReadonlyArray<Row>)
        )
      })
    })
  )

// ---------------------------------------------------------------------------------------------
// Migrations.

/**
 * Applies the migrations the database does not have yet, in one transaction holding a
 * transaction-level advisory lock: replicas starting at once wait for each other, and each
 * version is applied exactly once. Answers how many were applied.
 * @since 0.0.0
 */
export const migrate = (sql: SqlClient): Effect.Effect<number, SqlError> =>
  sql.withTransaction(
    Effect.gen(function* () {
      yield* sql.unsafe(`SELECT pg_advisory_xact_lock(${migrationLockKey})`)
      yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS lagrello_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`)
      const [current] = yield* sql<{ v: number }>`SELECT coalesce(max(version), 0) AS v FROM lagrello_migrations`
      const pending = migrations.filter((m) => m.version > current!.v)
      for (const m of pending) {
        yield* sql.unsafe(m.sql)
        yield* sql`INSERT INTO lagrello_migrations (version, name, applied_at)
          VALUES (${m.version}, ${m.name}, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)`
      }
      return pending.length
    })
  )

// ---------------------------------------------------------------------------------------------
// Rows.


const first = <A, B>(rows: ReadonlyArray<A>, f: (a: A) => B): Option.Option<B> =>
  rows.length > 0 ? Option.some(f(rows[0]!)) : Option.none()

/** Claims by their current lease (the ids of each), for statements fenced on one lease value. */
const leaseGroups = (claimed: ReadonlyArray<OutboxRecord>): Array<[number, Array<string>]> => {
  const groups = new Map<number, Array<string>>()
  for (const c of claimed) groups.set(c.leaseUntil, [...(groups.get(c.leaseUntil) ?? []), c.id])
  return [...groups]
}

// ---------------------------------------------------------------------------------------------
// The service. Numbers bound in arithmetic are cast to bigint: PostgreSQL cannot infer the type
// of `$1 - $2` from two untyped parameters.

const makeService = (sql: SqlClient, pool: Pg.Pool): StorageService => {
  const transaction = <A>(effect: Effect.Effect<A, SqlError>) => guard(sql.withTransaction(effect))

  // Events and webhooks (SPEC 6): an event and its deliveries to the tenant's enabled webhooks
  // that subscribe to it, in one statement; xid defaults to the writing transaction's id.
  const insertEvents = (list: ReadonlyArray<NewEvent>) =>
    Effect.forEach(
      list,
      (e) => {
        const id = newEventId(e.occurredAt)
        return sql`WITH e AS (
            INSERT INTO events (id, tenant_id, type, occurred_at, user_id, actor, data)
            VALUES (${id}, ${e.tenantId}, ${e.type}, ${e.occurredAt}, ${e.userId ?? null}, ${e.actor ?? null},
                    ${JSON.stringify(e.data)}))
          INSERT INTO webhook_deliveries (webhook_id, event_id, tenant_id, event_type, payload, created_at, next_attempt_at)
          SELECT id, ${id}, tenant_id, ${e.type}, ${JSON.stringify(eventJson({ ...e, id }))}, ${e.occurredAt}, ${e.occurredAt}
          FROM webhooks
          WHERE tenant_id = ${e.tenantId} AND enabled
            AND (position(',*,' in events) > 0 OR position(${`,${e.type},`} in events) > 0)`
      },
      { discard: true }
    )
  // A step's change and the events of its outcome: one transaction.
  const withEvents = <A>(events: EventsOf<A> | undefined, effect: Effect.Effect<A, SqlError>) =>
    events === undefined ? effect : Effect.tap(effect, (result) => insertEvents(events(result)))
  const atomic = <A>(events: EventsOf<A> | undefined, effect: Effect.Effect<A, SqlError>) =>
    events === undefined ? guard(effect) : transaction(withEvents(events, effect))
  // A newer message of the user revoked this one's link: it is not tried again.
  const supersededIfNewer = sql`CASE WHEN EXISTS (SELECT 1 FROM outbox newer
      WHERE newer.tenant_id = outbox.tenant_id AND newer.user_id = outbox.user_id AND newer.seq > outbox.seq)
    THEN 'superseded' ELSE status END`

  // While anyone in this process waits on a handoff: one query for all of them, every 250 ms.
  const watch = makeHandoffWatch((ids) =>
    guard(
      Effect.map(
        sql<{ id_hash: string }>`SELECT h.id_hash FROM handoffs h JOIN magic_links l ON l.token_hash = h.token_hash
          WHERE h.id_hash = ANY(${ids}::text[]) AND h.status = 'pending'
            AND l.consumed_at IS NULL AND l.revoked IS NULL`,
        (rows) => new Set(rows.map((r) => r.id_hash))
      )
    )
  )
  const liveHandoff = (tenantId: string, tokenHash: string, now: number) =>
    sql<{ id_hash: string; match_number: number; choices: string }>`
      SELECT h.id_hash, h.match_number, h.choices FROM magic_links l JOIN handoffs h ON h.token_hash = l.token_hash
      WHERE l.token_hash = ${tokenHash} AND l.tenant_id = ${tenantId} AND l.handoff
        AND l.consumed_at IS NULL AND l.revoked IS NULL AND l.expires_at > ${now} AND h.status = 'pending'`

  const revokeLinks = (tenantId: string, userId: string, reason: "replaced" | "email-changed") =>
    sql`UPDATE magic_links SET revoked = ${reason}
        WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND consumed_at IS NULL AND revoked IS NULL`

  return {
    insertTenant: (t) =>
      guard(
        sql`INSERT INTO tenants (tenant_id, name, callback_url, created_at)
            VALUES (${t.tenantId}, ${t.name}, ${t.callbackUrl}, ${t.createdAt})
            ON CONFLICT DO NOTHING RETURNING tenant_id`.pipe(Effect.map((rows) => rows.length === 1))
      ),
    getTenant: (tenantId) =>
      guard(Effect.map(sql<TenantRow>`SELECT * FROM tenants WHERE tenant_id = ${tenantId}`, (rows) => first(rows, tenant))),
    findTenantByName: (name) =>
      guard(Effect.map(sql<TenantRow>`SELECT * FROM tenants WHERE name = ${name}`, (rows) => first(rows, tenant))),
    setTenantCallbackUrl: (tenantId, callbackUrl, events) =>
      atomic(events, 
        Effect.map(
          sql<TenantRow>`UPDATE tenants SET callback_url = ${callbackUrl} WHERE tenant_id = ${tenantId} RETURNING *`,
          (rows) => first(rows, tenant)
        )
      ),

    insertAccessToken: (t, events) =>
      atomic(events, 
        sql`INSERT INTO access_tokens (token_id, tenant_id, name, secret_hash, permissions, created_by, created_at)
            VALUES (${t.tokenId}, ${t.tenantId}, ${t.name}, ${t.secretHash}, ${t.permissions.join(",")},
                    ${t.createdBy}, ${t.createdAt})
            ON CONFLICT DO NOTHING RETURNING token_id`.pipe(Effect.map((rows) => rows.length === 1))
      ),
    // No cache: a revocation committed by any replica is seen by the next request.
    findAccessToken: (secretHash) =>
      Effect.map(
        readOnPool<TokenRow>(pool, "SELECT * FROM access_tokens WHERE secret_hash = $1 AND revoked_at IS NULL", [secretHash]),
        (rows) => first(rows, token)
      ),
    // One statement, so the page and the total come from one snapshot (an empty page still
    // yields the row of the total, with NULL token columns).
    listAccessTokens: (tenantId, { limit, offset }) =>
      guard(
        Effect.map(
          sql<TokenRow & { total: number }>`
            SELECT page.*, c.total
            FROM (SELECT count(*) AS total FROM access_tokens
                  WHERE tenant_id = ${tenantId} AND revoked_at IS NULL) c
            LEFT JOIN LATERAL (
              SELECT * FROM access_tokens WHERE tenant_id = ${tenantId} AND revoked_at IS NULL
              ORDER BY created_at, token_id LIMIT ${limit} OFFSET ${offset}) page ON true
            ORDER BY page.created_at, page.token_id`,
          (rows) => ({
            items: rows.filter((r) => r.token_id !== null).map(token),
            total: rows[0]?.total ?? 0
          })
        )
      ),
    revokeAccessToken: (tenantId, tokenId, now, events) =>
      atomic(events, 
        Effect.map(
          sql`UPDATE access_tokens SET revoked_at = ${now}
              WHERE tenant_id = ${tenantId} AND token_id = ${tokenId} AND revoked_at IS NULL
              RETURNING token_id`,
          (rows) => rows.length === 1
        )
      ),

    insertUser: (tenantId, u, now, events) =>
      atomic(events, 
        Effect.map(
          sql`INSERT INTO users (tenant_id, user_id, email, created_at)
              VALUES (${tenantId}, ${u.userId}, ${u.email ?? null}, ${now})
              ON CONFLICT DO NOTHING RETURNING user_id`,
          (rows) => rows.length === 1
        )
      ),
    getUser: (tenantId, userId) =>
      Effect.map(
        readOnPool<UserRow>(pool, "SELECT user_id, email FROM users WHERE tenant_id = $1 AND user_id = $2", [tenantId, userId]),
        (rows) => first(rows, user)
      ),
    // The user's row is locked first, as by issueMagicLink: a send and an address change of one
    // user serialize, so a link written before the change is revoked by it.
    updateUserEmail: (tenantId, userId, email, events) =>
      transaction(withEvents(events, 
        Effect.gen(function* () {
          const [before] = yield* sql<UserRow>`SELECT user_id, email FROM users
            WHERE tenant_id = ${tenantId} AND user_id = ${userId} FOR UPDATE`
          if (!before) return Option.none()
          if (before.email !== email) yield* revokeLinks(tenantId, userId, "email-changed")
          const [after] = yield* sql<UserRow>`UPDATE users SET email = ${email}
            WHERE tenant_id = ${tenantId} AND user_id = ${userId} RETURNING user_id, email`
          return Option.some(user(after!))
        })
      )),
    // The user's row is locked first, so that a send committed meanwhile is seen by the copy of
    // its live links; its TOTP state, links and messages go with it (ON DELETE CASCADE), and an
    // enrolment waiting on the row (setPendingTotp) then finds no user.
    deleteUser: (tenantId, userId, now, events) =>
      transaction(withEvents(events, 
        Effect.gen(function* () {
          const [locked] = yield* sql`SELECT user_id FROM users
            WHERE tenant_id = ${tenantId} AND user_id = ${userId} FOR UPDATE`
          if (!locked) return false
          yield* sql`INSERT INTO deleted_user_links (token_hash, tenant_id, expires_at)
            SELECT token_hash, tenant_id, expires_at FROM magic_links
            WHERE tenant_id = ${tenantId} AND user_id = ${userId}
              AND consumed_at IS NULL AND revoked IS NULL AND expires_at > ${now}
            ON CONFLICT DO NOTHING`
          yield* sql`DELETE FROM users WHERE tenant_id = ${tenantId} AND user_id = ${userId}`
          return true
        })
      )),

    issueMagicLink: (r, events) =>
      transaction(withEvents(events, 
        Effect.gen(function* () {
          // Concurrent sends for one user (on any replica) wait here for each other, so each
          // counts the links the others committed: the throttle holds across replicas.
          const [locked] = yield* sql<UserRow>`SELECT user_id, email FROM users
            WHERE tenant_id = ${r.tenantId} AND user_id = ${r.userId} FOR UPDATE`
          // Deleted or re-addressed since the caller read it: nothing is written.
          if (!locked || locked.email !== r.email) return { _tag: "UserChanged" } as const
          const recent = yield* sql<{ created_at: number }>`SELECT created_at FROM magic_links
            WHERE tenant_id = ${r.tenantId} AND user_id = ${r.userId}
              AND created_at > ${r.now}::bigint - ${r.windowMillis}::bigint
            ORDER BY created_at`
          if (recent.length >= r.limit) {
            return { _tag: "Throttled", retryAt: recent[recent.length - r.limit]!.created_at + r.windowMillis } as const
          }
          yield* revokeLinks(r.tenantId, r.userId, "replaced")
          // Their messages that no worker holds a lease on; one being delivered finishes first.
          yield* sql`UPDATE outbox SET status = 'superseded'
            WHERE tenant_id = ${r.tenantId} AND user_id = ${r.userId} AND status = 'pending'
              AND lease_until <= ${r.now}`
          yield* sql`INSERT INTO magic_links (token_hash, tenant_id, user_id, created_at, expires_at, code_hash, code_key_id, handoff)
            VALUES (${r.tokenHash}, ${r.tenantId}, ${r.userId}, ${r.now}, ${r.expiresAt}, ${r.code?.hash ?? null},
                    ${r.code?.keyId ?? null}, ${r.handoff !== undefined})`
          if (r.handoff) {
            yield* sql`INSERT INTO handoffs (id_hash, tenant_id, user_id, token_hash, match_number, choices, created_at, expires_at)
              VALUES (${r.handoff.idHash}, ${r.tenantId}, ${r.userId}, ${r.tokenHash}, ${r.handoff.matchNumber},
                      ${r.handoff.choices.join(",")}, ${r.now}, ${r.expiresAt})`
          }
          // seq from the sequence: under the user's row lock, so a user's messages are numbered
          // in the order they were written.
          yield* sql`INSERT INTO outbox (id, tenant_id, user_id, sealed, created_at, expires_at, next_attempt_at)
            VALUES (${r.message.id}, ${r.tenantId}, ${r.userId}, ${r.message.sealed}, ${r.now}, ${r.expiresAt}, ${r.now})`
          return { _tag: "Issued" } as const
        })
      )),
    // The single statement that makes a link single-use: concurrent consumers queue on the row
    // lock, and each later one re-checks `consumed_at IS NULL` on the committed row and finds none.
    consumeMagicLink: (tenantId, tokenHash, now, events) =>
      atomic(events, 
        Effect.gen(function* () {
          const [consumed] = yield* sql<{ user_id: string }>`UPDATE magic_links SET consumed_at = ${now}
            WHERE token_hash = ${tokenHash} AND tenant_id = ${tenantId}
              AND consumed_at IS NULL AND revoked IS NULL AND expires_at > ${now} AND NOT handoff
            RETURNING user_id`
          if (consumed) return { _tag: "Consumed", userId: consumed.user_id } as const
          // Only on the failure path: tell a deleted user's link (or a handoff's) from an invalid one.
          const handoff = yield* sql`SELECT 1 FROM magic_links
            WHERE token_hash = ${tokenHash} AND tenant_id = ${tenantId} AND handoff
              AND consumed_at IS NULL AND revoked IS NULL AND expires_at > ${now}`
          if (handoff.length > 0) return { _tag: "Handoff" } as const
          const deleted = yield* sql`SELECT 1 FROM deleted_user_links
            WHERE token_hash = ${tokenHash} AND tenant_id = ${tenantId}`
          return deleted.length > 0 ? ({ _tag: "UserDeleted" } as const) : ({ _tag: "Invalid" } as const)
        })
      ),

    getTotp: (tenantId, userId) =>
      guard(
        Effect.map(
          sql<TotpRow>`SELECT * FROM user_totp WHERE tenant_id = ${tenantId} AND user_id = ${userId}`,
          (rows) => first(rows, totp)
        )
      ),
    // Only for a user that exists, in one statement: the user's row is share-locked first, so a
    // deletion in progress is waited for (and then there is no row: nothing is written), and a
    // deletion that comes later waits for this one and deletes the secret with the user.
    setPendingTotp: (tenantId, userId, sealed, now, events) =>
      atomic(events, 
        Effect.map(
          sql`WITH u AS (SELECT tenant_id, user_id FROM users
                         WHERE tenant_id = ${tenantId} AND user_id = ${userId} FOR KEY SHARE)
              INSERT INTO user_totp (tenant_id, user_id, pending_secret, pending_since)
              SELECT tenant_id, user_id, ${sealed}, ${now} FROM u
              ON CONFLICT (tenant_id, user_id) DO UPDATE
                SET pending_secret = excluded.pending_secret, pending_since = excluded.pending_since
              RETURNING user_id`,
          (rows) => rows.length === 1
        )
      ),
    // Two statements in one transaction (not one statement: its snapshot would miss codes that a
    // set written meanwhile commits while this waits for the TOTP row's lock).
    disableTotp: (tenantId, userId, events) =>
      transaction(withEvents(events, 
        Effect.zipRight(
          sql`UPDATE user_totp SET confirmed_secret = NULL, pending_secret = NULL, pending_since = NULL
              WHERE tenant_id = ${tenantId} AND user_id = ${userId}`,
          sql`DELETE FROM recovery_codes WHERE tenant_id = ${tenantId} AND user_id = ${userId}`
        ).pipe(Effect.asVoid)
      )),
    // Counts the attempt before the comparison, in one statement; refuses it (no row) while
    // locked out. Concurrent attempts queue on the row lock and each sees the others' counts.
    // Every SET expression reads the row as it was. The attempt that reaches the limit starts a
    // lock-out: of the next level when the previous one ended within the escalation window, else
    // of level 1; lockout.ts has the same rules (and the reason for the version 1 fallback in the
    // WHERE).
    beginTotpAttempt: (tenantId, userId, now, policy, events) =>
      atomic(events, 
        Effect.gen(function* () {
          const limit = policy.limit
          const backoff = policy.backoffMillis
          const reaches = sql`(CASE WHEN failures >= ${limit} THEN 1 ELSE failures + 1 END) >= ${limit}`
          const level = sql`(CASE WHEN locked_until > ${now}::bigint - ${policy.escalationWindowMillis}::bigint
                              THEN least(lockouts + 1, ${maxLockoutLevel(policy)}::integer) ELSE 1 END)`
          const expired = sql`pending_since <= ${now}::bigint - ${policy.enrolmentLifetimeMillis}::bigint`
          const [counted] = yield* sql<TotpRow>`UPDATE user_totp
            SET failures = CASE WHEN failures >= ${limit} THEN 1 ELSE failures + 1 END,
                last_failure_at = ${now},
                lockouts = CASE WHEN ${reaches} THEN ${level} ELSE lockouts END,
                locked_until = CASE WHEN ${reaches}
                  THEN ${now}::bigint + least(${policy.maxBackoffMillis}::bigint, ${backoff}::bigint << (${level} - 1))
                  ELSE locked_until END,
                pending_secret = CASE WHEN ${expired} THEN NULL ELSE pending_secret END,
                pending_since = CASE WHEN ${expired} THEN NULL ELSE pending_since END
            WHERE tenant_id = ${tenantId} AND user_id = ${userId}
              AND coalesce(locked_until, CASE WHEN failures >= ${limit} THEN last_failure_at + ${backoff}::bigint END, 0)
                  <= ${now}::bigint
            RETURNING *`
          if (counted) return { _tag: "Allowed", totp: totp(counted) } as const
          const [row] = yield* sql<TotpRow>`SELECT * FROM user_totp WHERE tenant_id = ${tenantId} AND user_id = ${userId}`
          if (!row) return { _tag: "Missing" } as const
          const lockedUntil = lockoutEnd(
            { failures: row.failures, lastFailureAt: row.last_failure_at ?? undefined, lockedUntil: row.locked_until ?? undefined },
            policy
          )
          return { _tag: "Locked", retryAt: lockedUntil ?? now } as const
        })
      ),
    // Only a step after the last accepted one, and only for the secret the attempt read: of two
    // concurrent acceptances of one code, the later re-checks `last_step < step` and fails.
    acceptTotpStep: ({ kind, secret, step, tenantId, userId }, events) =>
      atomic(events, 
        Effect.map(
          kind === "confirmed"
            ? sql`UPDATE user_totp SET last_step = ${step}, failures = 0, last_failure_at = NULL,
                    lockouts = 0, locked_until = NULL
                  WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND confirmed_secret = ${secret}
                    AND (last_step IS NULL OR last_step < ${step})
                  RETURNING user_id`
            : sql`UPDATE user_totp SET confirmed_secret = pending_secret, pending_secret = NULL, pending_since = NULL,
                    last_step = ${step}, failures = 0, last_failure_at = NULL, lockouts = 0, locked_until = NULL
                  WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND pending_secret = ${secret}
                    AND (last_step IS NULL OR last_step < ${step})
                  RETURNING user_id`,
          (rows) => rows.length === 1
        )
      ),
    sampleTotpSecret: guard(
      Effect.map(
        sql<{ tenant_id: string; user_id: string; sealed: string }>`
          SELECT tenant_id, user_id, coalesce(confirmed_secret, pending_secret) AS sealed FROM user_totp
          WHERE coalesce(confirmed_secret, pending_secret) IS NOT NULL LIMIT 1`,
        (rows) => first(rows, (r) => ({ tenantId: r.tenant_id, userId: r.user_id, sealed: r.sealed }))
      )
    ),

    getKeyCheck: guard(
      Effect.map(sql<{ sealed: string }>`SELECT sealed FROM keyring_check WHERE id = 1`, (rows) =>
        first(rows, (r) => r.sealed)
      )
    ),
    // Replicas starting at once: one inserts, the others find it there.
    insertKeyCheck: (sealed) =>
      guard(
        Effect.map(
          sql`INSERT INTO keyring_check (id, sealed) VALUES (1, ${sealed}) ON CONFLICT DO NOTHING RETURNING id`,
          (rows) => rows.length === 1
        )
      ),
    replaceKeyCheck: (previous, next) =>
      guard(
        Effect.map(
          sql`UPDATE keyring_check SET sealed = ${next} WHERE id = 1 AND sealed = ${previous} RETURNING id`,
          (rows) => rows.length === 1
        )
      ),

    // Workers on every replica: rows another worker is leasing right now are skipped, and a row
    // leased and committed meanwhile is re-checked (`lease_until <= now`) and left out. A message
    // waits while an older one of its user is pending (due later, or leased, maybe by another
    // replica): a message's status only ever leaves 'pending', so a stale view of the older one
    // can only hold the newer back for a pass, never let it overtake.
    claimOutbox: (now, leaseMillis, limit) =>
      guard(
        Effect.map(
          sql<OutboxRow>`UPDATE outbox SET lease_until = ${now + leaseMillis}, attempts = attempts + 1
            WHERE id IN (
              SELECT id FROM outbox o
              WHERE status = 'pending' AND next_attempt_at <= ${now} AND lease_until <= ${now}
                AND NOT EXISTS (SELECT 1 FROM outbox older
                                WHERE older.tenant_id = o.tenant_id AND older.user_id = o.user_id
                                  AND older.status = 'pending' AND older.seq < o.seq)
              ORDER BY next_attempt_at, seq LIMIT ${limit}
              FOR UPDATE SKIP LOCKED)
            RETURNING *`,
          (rows) => rows.map(outbox).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt)
        )
      ),
    // Claims of one pass share their lease, so this is usually one statement.
    renewOutboxLeases: (claimed, leaseUntil) =>
      guard(
        Effect.map(
          Effect.forEach(leaseGroups(claimed), ([current, ids]) =>
            sql<{ id: string }>`UPDATE outbox SET lease_until = ${leaseUntil}
              WHERE id IN ${sql.in(ids)} AND lease_until = ${current} AND status = 'pending'
              RETURNING id`
          ),
          (groups) => groups.flat().map((r) => r.id)
        )
      ),
    markOutboxSent: (c, events) =>
      atomic(events, 
        Effect.map(
          sql`UPDATE outbox SET status = 'sent', last_error = NULL
              WHERE id = ${c.id} AND lease_until = ${c.leaseUntil} RETURNING id`,
          (rows) => rows.length === 1
        )
      ),
    retryOutbox: (c, nextAttemptAt, error) =>
      guard(
        Effect.map(
          sql`UPDATE outbox SET status = ${supersededIfNewer}, next_attempt_at = ${nextAttemptAt},
                last_error = ${error}, lease_until = 0
              WHERE id = ${c.id} AND lease_until = ${c.leaseUntil} RETURNING id`,
          (rows) => rows.length === 1
        )
      ),
    finishOutbox: (c, status, error, events) =>
      atomic(events, 
        Effect.map(
          sql`UPDATE outbox SET status = ${status}, last_error = ${error}
              WHERE id = ${c.id} AND lease_until = ${c.leaseUntil} RETURNING id`,
          (rows) => rows.length === 1
        )
      ),
    releaseOutbox: (c) =>
      guard(
        Effect.map(
          sql`UPDATE outbox SET status = ${supersededIfNewer}, lease_until = 0, attempts = attempts - 1
              WHERE id = ${c.id} AND lease_until = ${c.leaseUntil} RETURNING id`,
          (rows) => rows.length === 1
        )
      ),
    listOutbox: (limit) =>
      guard(
        Effect.map(sql<OutboxRow>`SELECT * FROM outbox ORDER BY created_at DESC, seq DESC LIMIT ${limit}`, (rows) =>
          rows.map(outbox)
        )
      ),

    outboxStats: guard(
      Effect.map(
        sql<{ n: string; oldest: string | number | null }>`
          SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE status = 'pending'`,
        (rows) => ({
          pending: Number(rows[0]?.n ?? 0),
          oldestCreatedAt: rows[0]?.oldest === null || rows[0]?.oldest === undefined ? undefined : Number(rows[0].oldest)
        })
      )
    ),

    // One statement: every deletion or none.
    purge: (before, enrolmentsBefore) =>
      guard(
        Effect.map(
          sql<{ n: number }>`
            WITH links AS (DELETE FROM magic_links WHERE expires_at < ${before} AND created_at < ${before} RETURNING 1),
                 deleted AS (DELETE FROM deleted_user_links WHERE expires_at < ${before} RETURNING 1),
                 messages AS (DELETE FROM outbox WHERE status <> 'pending' AND expires_at < ${before} RETURNING 1),
                 enrolments AS (UPDATE user_totp SET pending_secret = NULL, pending_since = NULL
                                WHERE ${enrolmentsBefore === undefined ? sql`false` : sql`pending_since < ${enrolmentsBefore}`}
                                RETURNING 1)
            SELECT (SELECT count(*) FROM links) + (SELECT count(*) FROM deleted) + (SELECT count(*) FROM messages)
                 + (SELECT count(*) FROM enrolments) AS n`,
          (rows) => rows[0]!.n
        )
      ),

    // -----------------------------------------------------------------------------------------
    // Recovery codes, e-mail codes and the sign-in handoff (SPEC 5). Where a transaction locks
    // both a user's TOTP row and its recovery codes, the TOTP row comes first (no deadlock).

    // The TOTP row is locked first: turning TOTP off (which updates it) waits for this set, then
    // deletes it; or this waits, and finds no confirmed secret.
    replaceRecoveryCodes: (tenantId, userId, set, events) =>
      transaction(withEvents(events, 
        Effect.gen(function* () {
          const [exists] = yield* sql`SELECT 1 FROM users
            WHERE tenant_id = ${tenantId} AND user_id = ${userId} FOR KEY SHARE`
          if (!exists) return "NoUser" as const
          const [totpRow] = yield* sql<{ confirmed: boolean }>`SELECT confirmed_secret IS NOT NULL AS confirmed
            FROM user_totp WHERE tenant_id = ${tenantId} AND user_id = ${userId} FOR UPDATE`
          if (totpRow?.confirmed !== true) return "NoTotp" as const
          yield* sql`DELETE FROM recovery_codes WHERE tenant_id = ${tenantId} AND user_id = ${userId}`
          yield* sql`INSERT INTO recovery_codes ${sql.insert(
            set.hashes.map((hash) => ({
              tenant_id: tenantId,
              user_id: userId,
              code_hash: hash,
              key_id: set.keyId,
              created_at: set.createdAt
            }))
          )}`
          return "Replaced" as const
        })
      )),
    getRecoveryCodes: (tenantId, userId) =>
      guard(
        Effect.map(
          sql<{ key_id: string | null; remaining: number; created_at: number | null }>`
            SELECT max(key_id) AS key_id, count(*) FILTER (WHERE used_at IS NULL)::integer AS remaining,
                   max(created_at) AS created_at
            FROM recovery_codes WHERE tenant_id = ${tenantId} AND user_id = ${userId}`,
          ([row]) =>
            row?.key_id == null || row.created_at === null
              ? Option.none()
              : Option.some({ keyId: row.key_id, remaining: row.remaining, createdAt: row.created_at })
        )
      ),
    // Concurrent uses of one code queue on the TOTP row, and each later one re-checks
    // `used_at IS NULL` on the committed code row and finds none.
    useRecoveryCode: (tenantId, userId, codeHash, now, events) =>
      transaction(withEvents(events, 
        Effect.gen(function* () {
          yield* sql`SELECT 1 FROM user_totp WHERE tenant_id = ${tenantId} AND user_id = ${userId} FOR UPDATE`
          const used = yield* sql`UPDATE recovery_codes SET used_at = ${now}
            WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND code_hash = ${codeHash} AND used_at IS NULL
            RETURNING 1`
          if (used.length === 0) return false
          yield* sql`UPDATE user_totp SET failures = 0, last_failure_at = NULL, lockouts = 0, locked_until = NULL
            WHERE tenant_id = ${tenantId} AND user_id = ${userId}`
          return true
        })
      )),

    findEmailCode: (tenantId, userId, now) =>
      guard(
        Effect.map(
          sql<{ token_hash: string; code_key_id: string }>`SELECT token_hash, code_key_id FROM magic_links
            WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND consumed_at IS NULL AND revoked IS NULL
              AND expires_at > ${now} AND code_hash IS NOT NULL AND code_key_id IS NOT NULL
            ORDER BY created_at DESC LIMIT 1`,
          (rows) => first(rows, (r) => ({ tokenHash: r.token_hash, keyId: r.code_key_id }))
        )
      ),
    // One statement per attempt: concurrent attempts queue on the row lock, and each later one
    // re-evaluates the WHERE clause and the SET expressions on the committed row, so at most
    // `limit` wrong codes are ever counted and a right one consumes the challenge once.
    tryEmailCode: ({ codeHash, limit, now, tenantId, tokenHash }, events) =>
      atomic(events, 
        Effect.map(
          sql<{ user_id: string; consumed: boolean; revoked: string | null }>`UPDATE magic_links SET
              consumed_at = CASE WHEN code_hash = ${codeHash} THEN ${now} ELSE consumed_at END,
              code_failures = CASE WHEN code_hash = ${codeHash} THEN code_failures ELSE code_failures + 1 END,
              revoked = CASE WHEN code_hash <> ${codeHash} AND code_failures + 1 >= ${limit}::integer
                THEN 'code-failures' ELSE revoked END
            WHERE token_hash = ${tokenHash} AND tenant_id = ${tenantId} AND consumed_at IS NULL AND revoked IS NULL
              AND expires_at > ${now} AND code_hash IS NOT NULL
            RETURNING user_id, consumed_at IS NOT NULL AS consumed, revoked`,
          ([row]) => {
            if (!row) return { _tag: "Invalid" } as const
            if (row.consumed) return { _tag: "Consumed", userId: row.user_id } as const
            return { _tag: "Wrong", ended: row.revoked !== null } as const
          }
        )
      ),

    getHandoffChoices: (tenantId, tokenHash, now) =>
      guard(Effect.map(liveHandoff(tenantId, tokenHash, now), (rows) => first(rows, (r) => r.choices.split(",").map(Number)))),
    // The link's row is locked: of concurrent decisions, the later ones find it consumed or revoked.
    decideHandoff: (tenantId, tokenHash, matchNumber, now, events) =>
      transaction(
        Effect.gen(function* () {
          const [handoff] = yield* sql<{ id_hash: string; match_number: number; user_id: string }>`
            SELECT h.id_hash, h.match_number, h.user_id FROM magic_links l JOIN handoffs h ON h.token_hash = l.token_hash
            WHERE l.token_hash = ${tokenHash} AND l.tenant_id = ${tenantId} AND l.handoff
              AND l.consumed_at IS NULL AND l.revoked IS NULL AND l.expires_at > ${now} AND h.status = 'pending'
            FOR UPDATE OF l`
          if (!handoff) return undefined
          const approved = handoff.match_number === matchNumber
          yield* approved
            ? sql`UPDATE magic_links SET consumed_at = ${now} WHERE token_hash = ${tokenHash}`
            : sql`UPDATE magic_links SET revoked = 'handoff-denied' WHERE token_hash = ${tokenHash}`
          yield* sql`UPDATE handoffs SET status = ${approved ? "approved" : "denied"}, decided_at = ${now}
            WHERE id_hash = ${handoff.id_hash}`
          if (events !== undefined) {
            yield* insertEvents(events({ outcome: approved ? "Approved" : "Denied", userId: handoff.user_id }))
          }
          return { idHash: handoff.id_hash, approved }
        })
      ).pipe(
        // Once committed: this process's waiters answer at once, the other replicas' at their next poll.
        Effect.map((decided) => {
          if (decided === undefined) return "Invalid" as const
          watch.signal(decided.idHash)
          return decided.approved ? ("Approved" as const) : ("Denied" as const)
        })
      ),
    // A read, and a write only to hand an approved handoff over (a waiting client reads often).
    readHandoff: (tenantId, idHash, now) =>
      guard(
        Effect.gen(function* () {
          const [row] = yield* sql<{ status: string; expires_at: number; live: boolean }>`
            SELECT h.status, h.expires_at, (l.consumed_at IS NULL AND l.revoked IS NULL AND l.expires_at > ${now}) AS live
            FROM handoffs h JOIN magic_links l ON l.token_hash = h.token_hash
            WHERE h.id_hash = ${idHash} AND h.tenant_id = ${tenantId}`
          if (!row) return { _tag: "Missing" } as const
          if (row.status === "denied") return { _tag: "Denied" } as const
          if (row.expires_at <= now) return { _tag: "Expired" } as const
          if (row.status === "approved") {
            // Of concurrent readers, one claims it; the others re-check the status and find it claimed.
            const [claimed] = yield* sql<UserRow>`UPDATE handoffs h SET status = 'claimed'
              FROM users u
              WHERE h.id_hash = ${idHash} AND h.tenant_id = ${tenantId} AND h.status = 'approved'
                AND h.expires_at > ${now} AND u.tenant_id = h.tenant_id AND u.user_id = h.user_id
              RETURNING u.user_id, u.email`
            return claimed ? ({ _tag: "Approved", user: user(claimed) } as const) : ({ _tag: "Expired" } as const)
          }
          return row.status === "pending" && row.live
            ? ({ _tag: "Pending", expiresAt: row.expires_at } as const)
            : ({ _tag: "Expired" } as const)
        }) satisfies Effect.Effect<HandoffRead, SqlError>
      ),
    watchHandoff: watch.watch,

    // -----------------------------------------------------------------------------------------
    // operator: key rotation, export/import, outbox listing

    listTenants: guard(
      Effect.map(sql<TenantRow>`SELECT * FROM tenants ORDER BY created_at, tenant_id`, (rows) => rows.map(tenant))
    ),
    countSealed: guard(
      Effect.map(
        sql<{ kind: SealedKind; key_id: string; n: number }>`
          SELECT 'totp-confirmed' AS kind, ${sql.literal(keyIdOf("confirmed_secret"))} AS key_id, count(*)::int AS n
            FROM user_totp WHERE confirmed_secret IS NOT NULL GROUP BY 2
          UNION ALL
          SELECT 'totp-pending', ${sql.literal(keyIdOf("pending_secret"))}, count(*)::int
            FROM user_totp WHERE pending_secret IS NOT NULL GROUP BY 2
          UNION ALL
          SELECT 'outbox', ${sql.literal(keyIdOf("sealed"))}, count(*)::int FROM outbox GROUP BY 2
          UNION ALL
          SELECT 'webhook-secret', ${sql.literal(keyIdOf("secret"))}, count(*)::int FROM webhooks GROUP BY 2
          UNION ALL
          SELECT 'webhook-previous-secret', ${sql.literal(keyIdOf("previous_secret"))}, count(*)::int
            FROM webhooks WHERE previous_secret IS NOT NULL GROUP BY 2
          ORDER BY 1, 2`,
        (rows) => rows.map((r) => ({ kind: r.kind, keyId: r.key_id, count: Number(r.n) }))
      )
    ),
    countRecoveryCodeSets: guard(
      Effect.map(
        sql<{ key_id: string; n: number }>`SELECT key_id, count(DISTINCT (tenant_id, user_id))::int AS n FROM recovery_codes
          WHERE used_at IS NULL GROUP BY key_id ORDER BY key_id`,
        (rows) => rows.map((r) => ({ keyId: r.key_id, users: Number(r.n) }))
      )
    ),
    listSealed: (kind, { after, exceptKeyId, limit }) => {
      const prefix = `v1.${exceptKeyId}.`
      const query = kind === "outbox"
        ? sql<SealedRow>`SELECT tenant_id, user_id, id, sealed FROM outbox
            WHERE left(sealed, ${prefix.length}::int) <> ${prefix}
              AND (${after === undefined} OR id > ${after?.id ?? ""})
            ORDER BY id LIMIT ${limit}`
        : kind === "webhook-secret" || kind === "webhook-previous-secret"
        ? sql<SealedRow>`SELECT tenant_id, '' AS user_id, id, ${sql(webhookColumn(kind))} AS sealed FROM webhooks
            WHERE ${sql(webhookColumn(kind))} IS NOT NULL AND left(${sql(webhookColumn(kind))}, ${prefix.length}::int) <> ${prefix}
              AND (${after === undefined} OR id > ${after?.id ?? ""})
            ORDER BY id LIMIT ${limit}`
        : sql<SealedRow>`SELECT tenant_id, user_id, '' AS id, ${sql(totpColumn(kind))} AS sealed FROM user_totp
            WHERE ${sql(totpColumn(kind))} IS NOT NULL AND left(${sql(totpColumn(kind))}, ${prefix.length}::int) <> ${prefix}
              AND (${after === undefined} OR (tenant_id, user_id) > (${after?.tenantId ?? ""}, ${after?.userId ?? ""}))
            ORDER BY tenant_id, user_id LIMIT ${limit}`
      return guard(
        Effect.map(query, (rows) =>
          rows.map((r) => ({ kind, ref: { tenantId: r.tenant_id, userId: r.user_id, id: r.id }, sealed: r.sealed })))
      )
    },
    resealValues: (updates) =>
      transaction(
        Effect.gen(function*() {
          let replaced = 0
          for (const u of updates) {
            const rows = u.kind === "outbox"
              ? yield* sql`UPDATE outbox SET sealed = ${u.next} WHERE id = ${u.ref.id} AND sealed = ${u.previous} RETURNING id`
              : u.kind === "webhook-secret" || u.kind === "webhook-previous-secret"
              ? yield* sql`UPDATE webhooks SET ${sql(webhookColumn(u.kind))} = ${u.next}
                  WHERE id = ${u.ref.id} AND ${sql(webhookColumn(u.kind))} = ${u.previous} RETURNING id`
              : yield* sql`UPDATE user_totp SET ${sql(totpColumn(u.kind))} = ${u.next}
                  WHERE tenant_id = ${u.ref.tenantId} AND user_id = ${u.ref.userId}
                    AND ${sql(totpColumn(u.kind))} = ${u.previous}
                  RETURNING user_id`
            replaced += rows.length
          }
          return replaced
        })
      ),
    exportUsers: (tenantId, after, limit) =>
      guard(
        Effect.map(
          sql<ExportRow>`SELECT u.user_id, u.email, u.created_at, t.user_id IS NOT NULL AS has_totp,
                t.confirmed_secret, t.pending_secret, t.pending_since, t.last_step
              FROM users u LEFT JOIN user_totp t ON t.tenant_id = u.tenant_id AND t.user_id = u.user_id
              WHERE u.tenant_id = ${tenantId} AND (${after === undefined} OR u.user_id > ${after ?? ""})
              ORDER BY u.user_id LIMIT ${limit}`,
          (rows) => rows.map(exported)
        )
      ),
    importUser: (tenantId, u) =>
      transaction(
        Effect.gen(function*() {
          const inserted = yield* sql`INSERT INTO users (tenant_id, user_id, email, created_at)
            VALUES (${tenantId}, ${u.userId}, ${u.email ?? null}, ${u.createdAt}) ON CONFLICT DO NOTHING RETURNING user_id`
          if (inserted.length !== 1) return false
          if (u.totp !== undefined) {
            yield* sql`INSERT INTO user_totp (tenant_id, user_id, confirmed_secret, pending_secret, pending_since, last_step)
              VALUES (${tenantId}, ${u.userId}, ${u.totp.confirmedSecret ?? null}, ${u.totp.pendingSecret ?? null},
                      ${u.totp.pendingSince ?? null}, ${u.totp.lastStep ?? null})`
          }
          return true
        })
      ),
    listOutboxByStatus: (status, limit) =>
      guard(
        Effect.map(
          sql<OutboxRow>`SELECT * FROM outbox WHERE (${status === undefined} OR status = ${status ?? ""})
            ORDER BY created_at DESC, seq DESC LIMIT ${limit}`,
          (rows) => rows.map(outbox)
        )
      ),
    retryFailedOutbox: (ids, now) =>
      guard(
        Effect.map(
          sql<{ id: string }>`UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ${now}, lease_until = 0,
                last_error = NULL
              WHERE status = 'failed' AND expires_at > ${now}
                AND (${ids === "all"} OR id = ANY(${ids === "all" ? [] : ids}::text[]))
                AND NOT EXISTS (SELECT 1 FROM outbox newer
                                WHERE newer.tenant_id = outbox.tenant_id AND newer.user_id = outbox.user_id
                                  AND newer.seq > outbox.seq)
              RETURNING id`,
          (rows) => rows.map((r) => r.id)
        )
      ),

    // -----------------------------------------------------------------------------------------
    // Events and webhooks (SPEC 6).

    appendEvents: (list) => transaction(insertEvents(list)),
    // Only events of transactions older than every one still running: any transaction that
    // commits later has an xid at or above that bound, so it sorts after the positions handed
    // out here (ordering by id would not do: an older transaction may write a larger id).
    listEvents: ({ after, limit, tenantId, types }) =>
      guard(
        Effect.map(
          sql<EventRow>`SELECT xid::text AS position, id, tenant_id, type, occurred_at, user_id, actor, data FROM events
            WHERE tenant_id = ${tenantId}
              AND xid < pg_snapshot_xmin(pg_current_snapshot())
              AND (xid, id) > (${(after ?? startCursor).position}::xid8, ${(after ?? startCursor).id})
              ${types === undefined ? sql`` : sql`AND type = ANY(${types}::text[])`}
            ORDER BY xid, id LIMIT ${limit}`,
          (rows) => {
            const events = rows.map(eventOfRow)
            return { events, next: events.length > 0 ? events[events.length - 1]!.cursor : after ?? startCursor }
          }
        )
      ),
    purgeEvents: (before, deliveriesBefore) =>
      guard(
        Effect.map(
          sql<{ n: number }>`
            WITH e AS (DELETE FROM events WHERE occurred_at < ${before} RETURNING 1),
                 d AS (DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ${deliveriesBefore} RETURNING 1)
            SELECT ((SELECT count(*) FROM e) + (SELECT count(*) FROM d))::integer AS n`,
          (rows) => rows[0]!.n
        )
      ),

    insertWebhook: (w) =>
      guard(
        Effect.asVoid(sql`INSERT INTO webhooks (id, tenant_id, url, events, enabled, created_at, secret, previous_secret,
            previous_until, failing_since)
          VALUES (${w.id}, ${w.tenantId}, ${w.url}, ${encodeTypeList(w.events)}, ${w.enabled}, ${w.createdAt}, ${w.secret},
                  ${w.previousSecret ?? null}, ${w.previousUntil ?? null}, ${w.failingSince ?? null})`)
      ),
    listWebhooks: (tenantId) =>
      guard(
        Effect.map(sql<WebhookRow>`SELECT * FROM webhooks WHERE tenant_id = ${tenantId} ORDER BY created_at, id`, (rows) =>
          rows.map(webhookOfRow)
        )
      ),
    getWebhook: (tenantId, id) =>
      guard(
        Effect.map(sql<WebhookRow>`SELECT * FROM webhooks WHERE tenant_id = ${tenantId} AND id = ${id}`, (rows) =>
          first(rows, webhookOfRow)
        )
      ),
    deleteWebhook: (tenantId, id) =>
      guard(
        Effect.map(sql`DELETE FROM webhooks WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id`, (rows) => rows.length === 1)
      ),
    rotateWebhookSecret: (tenantId, id, secret, previousUntil) =>
      guard(
        Effect.map(
          sql<WebhookRow>`UPDATE webhooks SET previous_secret = secret, previous_until = ${previousUntil}, secret = ${secret}
            WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING *`,
          (rows) => first(rows, webhookOfRow)
        )
      ),
    listWebhookDeliveries: (tenantId, webhookId, limit) =>
      guard(
        Effect.gen(function* () {
          const rows = yield* sql<DeliveryRow>`SELECT * FROM webhook_deliveries
            WHERE tenant_id = ${tenantId} AND webhook_id = ${webhookId}
            ORDER BY created_at DESC, event_id DESC LIMIT ${limit}`
          if (rows.length === 0) return []
          const attempts = yield* sql<AttemptRow>`SELECT * FROM webhook_attempts
            WHERE webhook_id = ${webhookId} AND event_id = ANY(${rows.map((r) => r.event_id)}::text[])
            ORDER BY attempt`
          return deliveriesOfRows(rows, attempts)
        })
      ),
    retryWebhookDelivery: (tenantId, webhookId, deliveryId, now) =>
      transaction(
        Effect.gen(function* () {
          const updated = yield* sql`UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ${now}
            WHERE tenant_id = ${tenantId} AND webhook_id = ${webhookId} AND event_id = ${deliveryId} RETURNING event_id`
          if (updated.length === 0) return false
          yield* sql`UPDATE webhooks SET enabled = true, failing_since = NULL WHERE id = ${webhookId}`
          return true
        })
      ),
    retryFailedWebhookDeliveries: (tenantId, webhookId, since, now) =>
      transaction(
        Effect.gen(function* () {
          const updated = yield* sql`UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ${now}
            WHERE tenant_id = ${tenantId} AND webhook_id = ${webhookId} AND status = 'failed' AND created_at >= ${since}
            RETURNING event_id`
          if (updated.length === 0) return 0
          yield* sql`UPDATE webhooks SET enabled = true, failing_since = NULL WHERE id = ${webhookId}`
          return updated.length
        })
      ),
    // As claimOutbox: rows leased by another worker right now are skipped.
    claimWebhookDeliveries: (now, leaseMillis, limit) =>
      guard(
        Effect.map(
          sql<DeliveryRow & { w_id: string } & { [K in keyof WebhookRow as `w_${K}`]: WebhookRow[K] }>`
            WITH claimed AS (
              UPDATE webhook_deliveries SET lease_until = ${now + leaseMillis}, attempts = attempts + 1
              WHERE (webhook_id, event_id) IN (
                SELECT d.webhook_id, d.event_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                WHERE d.status = 'pending' AND d.next_attempt_at <= ${now} AND d.lease_until <= ${now} AND w.enabled
                ORDER BY d.next_attempt_at LIMIT ${limit}
                FOR UPDATE OF d SKIP LOCKED)
              RETURNING *)
            SELECT c.*, w.id AS w_id, w.tenant_id AS w_tenant_id, w.url AS w_url, w.events AS w_events,
                   w.enabled AS w_enabled, w.created_at AS w_created_at, w.secret AS w_secret,
                   w.previous_secret AS w_previous_secret, w.previous_until AS w_previous_until,
                   w.failing_since AS w_failing_since
            FROM claimed c JOIN webhooks w ON w.id = c.webhook_id
            ORDER BY c.next_attempt_at`,
          (rows) =>
            rows.map((r) =>
              claimedOfRow(r, webhookOfRow({
                id: r.w_id,
                tenant_id: r.w_tenant_id,
                url: r.w_url,
                events: r.w_events,
                enabled: r.w_enabled,
                created_at: r.w_created_at,
                secret: r.w_secret,
                previous_secret: r.w_previous_secret,
                previous_until: r.w_previous_until,
                failing_since: r.w_failing_since
              }))
            )
        )
      ),
    recordWebhookAttempt: ({ attempt: a, claimed: c, disable, outcome }) =>
      transaction(
        Effect.gen(function* () {
          const status = outcome._tag === "Delivered" ? "delivered" : outcome._tag === "Failed" ? "failed" : "pending"
          const next = outcome._tag === "Retry" ? outcome.nextAttemptAt : a.attemptedAt
          const done = yield* sql`UPDATE webhook_deliveries SET status = ${status}, next_attempt_at = ${next}, lease_until = 0
            WHERE webhook_id = ${c.webhookId} AND event_id = ${c.eventId} AND lease_until = ${c.leaseUntil}
            RETURNING event_id`
          if (done.length === 0) return false
          yield* sql`INSERT INTO webhook_attempts (webhook_id, event_id, attempt, attempted_at, status_code, duration_millis, error)
            VALUES (${c.webhookId}, ${c.eventId},
                    (SELECT coalesce(max(attempt), 0) + 1 FROM webhook_attempts WHERE webhook_id = ${c.webhookId} AND event_id = ${c.eventId}),
                    ${a.attemptedAt}, ${a.statusCode ?? null}, ${Math.round(a.durationMillis)}, ${a.error ?? null})`
          yield* outcome._tag === "Delivered"
            ? sql`UPDATE webhooks SET failing_since = NULL WHERE id = ${c.webhookId}`
            : sql`UPDATE webhooks SET failing_since = coalesce(failing_since, ${a.attemptedAt}),
                    enabled = enabled AND ${disable === undefined} WHERE id = ${c.webhookId}`
          if (disable !== undefined) yield* insertEvents(disable)
          return true
        })
      )
  }
}

// operator: key rotation, export/import, outbox listing

/** The key id a sealed column names (`v1.<keyId>.<iv>.<data>`), or `''`. */
const keyIdOf = (column: "confirmed_secret" | "pending_secret" | "sealed" | "secret" | "previous_secret") =>
  `CASE WHEN split_part(${column}, '.', 1) = 'v1' THEN split_part(${column}, '.', 2) ELSE '' END`

const totpColumn = (kind: SealedKind) => (kind === "totp-pending" ? "pending_secret" : "confirmed_secret")

const webhookColumn = (kind: "webhook-secret" | "webhook-previous-secret") =>
  kind === "webhook-secret" ? "secret" : "previous_secret"

// ---------------------------------------------------------------------------------------------
// Constructors.

const startFailure = (settings: Settings, error: SqlError) =>
  new Unavailable({
    message: `Cannot use the PostgreSQL database at ${settings.target}: ${
      error.cause instanceof Error && error.cause.message ? error.cause.message : error.message
    }`
  })

/**
 * Connects to PostgreSQL, applies the pending migrations (safe with several replicas starting at
 * once) and answers the storage over a pool closed when the scope closes. Fails with
 * `Unavailable` when the database cannot be reached.
 * @since 0.0.0
 * @category constructors
 */
export const makePgStorage = (
  options: PgStorageOptions
): Effect.Effect<StorageService, Unavailable, Scope.Scope> => {
  const settings = settingsOf(options)
  return Effect.gen(function* () {
    // Migrations on their own connection, with a longer timeout (they may wait for another
    // replica, or build an index), closed before serving.
    yield* Effect.scoped(
      Effect.flatMap(makeClient(settings, settings.migrationTimeoutMillis, 1), ({ sql }) => migrate(sql))
    )
    const { pool, sql } = yield* makeClient(settings, settings.statementTimeoutMillis, settings.maxConnections)
    return makeService(sql, pool)
  }).pipe(
    Effect.catchAll((error) =>
      isUnavailableCause(error.cause) ? Effect.fail(startFailure(settings, error)) : Effect.die(error)
    ),
    // A COMMIT of the migrations that broke with the connection (see `guard`).
    Effect.catchSomeDefect((defect) =>
      defect instanceof SqlError && isUnavailableCause(defect.cause)
        ? Option.some(Effect.fail(startFailure(settings, defect)))
        : Option.none()
    )
  )
}

/**
 * @since 0.0.0
 * @category layers
 */
export const layerPg = (options: PgStorageOptions): Layer.Layer<Storage, Unavailable> =>
  Layer.scoped(Storage, makePgStorage(options))
