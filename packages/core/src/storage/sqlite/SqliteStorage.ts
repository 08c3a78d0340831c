/**
 * The SQLite storage layer: the embedded default, one file, no server, one machine.
 *
 * Written directly on better-sqlite3 rather than through `@effect/sql-sqlite-node`: that client
 * opens transactions with a deferred `BEGIN` (a read that later writes can fail with SQLITE_BUSY
 * when another process holds the write lock) and compiles, caches and traces every statement on
 * each call. Here every write runs in a `BEGIN IMMEDIATE` transaction of statements prepared once,
 * so each storage step is atomic across processes sharing the file and costs only its SQL; the
 * writes of concurrent requests share one commit (see GroupCommit.ts).
 *
 * @since 0.0.0
 */
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { closeSync, constants as fs, mkdirSync, openSync } from "node:fs"
import { dirname } from "node:path"
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
import type { HandoffRead, SealedKind, StorageService } from "../Storage.js"
import { Storage } from "../Storage.js"
import type { ExportRow, OutboxRow, SealedRow, TenantRow, TokenRow, TotpRow, UserRow } from "../rows.js"
import { exported, outbox, tenant, token, totp, user } from "../rows.js"
import { makeGroupCommit } from "./GroupCommit.js"
import { migrations } from "./migrations.js"

/** @since 0.0.0 */
export interface SqliteStorageOptions {
  /** Path of the database file (its folder is created if missing), or `:memory:`. */
  readonly filename: string
  /** How long a statement waits for another process's write lock. Default 5000 ms. */
  readonly busyTimeoutMillis?: number
}

// Error codes that mean the database cannot be used right now (as opposed to a bug in a query).
const unavailableCodes = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB|PROTOCOL)/

// What a statement threw: a database that cannot be used right now, or a bug (a defect).
const fromThrown = (cause: unknown): Effect.Effect<never, Unavailable> =>
  cause instanceof Database.SqliteError && unavailableCodes.test(cause.code)
    ? Effect.fail(new Unavailable({ message: "The database is unavailable; try again shortly" }))
    : Effect.die(cause)

const attempt = <A>(f: () => A): Effect.Effect<A, Unavailable> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f())
    } catch (cause) {
      return fromThrown(cause)
    }
  })

/**
 * Applies the migrations the file does not have yet, in one immediate transaction.
 * @since 0.0.0
 */
export const migrate = (db: Database.Database): number => {
  db.exec(`CREATE TABLE IF NOT EXISTS lagrello_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`)
  return db
    .transaction(() => {
      const current = db.prepare("SELECT coalesce(max(version), 0) AS v FROM lagrello_migrations").get() as {
        v: number
      }
      const pending = migrations.filter((m) => m.version > current.v)
      for (const m of pending) {
        db.exec(m.sql)
        db.prepare("INSERT INTO lagrello_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
          m.version,
          m.name,
          Date.now()
        )
      }
      return pending.length
    })
    .immediate()
}

/**
 * Creates the database file, if missing, readable by its owner only: it holds e-mail addresses.
 * SQLite gives its -wal and -shm files the mode of the database file, so they are 0600 too. A file
 * that exists keeps the mode its operator gave it.
 */
const createPrivately = (filename: string) => {
  mkdirSync(dirname(filename), { recursive: true })
  closeSync(openSync(filename, fs.O_RDWR | fs.O_CREAT, 0o600))
}

const open = (options: SqliteStorageOptions): Database.Database => {
  if (options.filename !== ":memory:") createPrivately(options.filename)
  const db = new Database(options.filename, { timeout: options.busyTimeoutMillis ?? 5000 })
  try {
    db.pragma("journal_mode = WAL")
    // FULL: a 204 answer to a send means the link and its message survived a power loss.
    db.pragma("synchronous = FULL")
    db.pragma("foreign_keys = ON")
    migrate(db)
    return db
  } catch (cause) {
    db.close()
    throw cause
  }
}

const makeService = (db: Database.Database): StorageService => {
  const q = <R = unknown>(sql: string) => db.prepare<Array<unknown>, R>(sql)
  // Every write, of one statement or several, is atomic in its own savepoint of a group commit.
  const write = makeGroupCommit(db, fromThrown)

  const insertTenant = q(
    "INSERT INTO tenants (tenant_id, name, callback_url, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
  )
  const selectTenant = q<TenantRow>("SELECT * FROM tenants WHERE tenant_id = ?")
  const selectTenantByName = q<TenantRow>("SELECT * FROM tenants WHERE name = ?")
  const updateTenantCallback = q<TenantRow>("UPDATE tenants SET callback_url = ? WHERE tenant_id = ? RETURNING *")

  const insertToken = q(
    `INSERT INTO access_tokens (token_id, tenant_id, name, secret_hash, permissions, created_by, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
  )
  const selectToken = q<TokenRow>("SELECT * FROM access_tokens WHERE secret_hash = ? AND revoked_at IS NULL")
  const listTokens = q<TokenRow>(
    `SELECT * FROM access_tokens WHERE tenant_id = ? AND revoked_at IS NULL
     ORDER BY created_at, token_id LIMIT ? OFFSET ?`
  )
  const countTokens = q<{ n: number }>(
    "SELECT count(*) AS n FROM access_tokens WHERE tenant_id = ? AND revoked_at IS NULL"
  )
  const revokeToken = q(
    "UPDATE access_tokens SET revoked_at = ? WHERE tenant_id = ? AND token_id = ? AND revoked_at IS NULL"
  )

  const insertUser = q(
    "INSERT INTO users (tenant_id, user_id, email, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
  )
  const selectUser = q<UserRow>("SELECT user_id, email FROM users WHERE tenant_id = ? AND user_id = ?")
  const updateEmail = q<UserRow>(
    "UPDATE users SET email = ? WHERE tenant_id = ? AND user_id = ? RETURNING user_id, email"
  )
  // Its TOTP state, links and messages go with it (ON DELETE CASCADE).
  const deleteUserRow = q("DELETE FROM users WHERE tenant_id = ? AND user_id = ?")
  const keepDeletedUserLinks = q(
    `INSERT INTO deleted_user_links (token_hash, tenant_id, expires_at)
     SELECT token_hash, tenant_id, expires_at FROM magic_links
     WHERE tenant_id = ? AND user_id = ? AND consumed_at IS NULL AND revoked IS NULL AND expires_at > ?
     ON CONFLICT DO NOTHING`
  )
  const revokeLinks = q(
    `UPDATE magic_links SET revoked = ?
     WHERE tenant_id = ? AND user_id = ? AND consumed_at IS NULL AND revoked IS NULL`
  )

  const recentLinks = q<{ created_at: number }>(
    `SELECT created_at FROM magic_links WHERE tenant_id = ? AND user_id = ? AND created_at > ?
     ORDER BY created_at`
  )
  const insertLink = q(
    `INSERT INTO magic_links (token_hash, tenant_id, user_id, created_at, expires_at, code_hash, code_key_id, handoff)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
  )
  // Messages no worker holds a lease on; one being delivered finishes first (see claim).
  const supersedeMessages = q(
    `UPDATE outbox SET status = 'superseded'
     WHERE tenant_id = ? AND user_id = ? AND status = 'pending' AND lease_until <= ?`
  )
  const insertMessage = q(
    `INSERT INTO outbox (id, tenant_id, user_id, seq, sealed, created_at, expires_at, next_attempt_at)
     VALUES (?, ?, ?, coalesce((SELECT max(seq) FROM outbox), 0) + 1, ?, ?, ?, ?)`
  )
  // The single statement that makes a link single-use: of concurrent consumers, one updates it.
  const consumeLink = q<{ user_id: string }>(
    `UPDATE magic_links SET consumed_at = ?
     WHERE token_hash = ? AND tenant_id = ? AND consumed_at IS NULL AND revoked IS NULL AND expires_at > ?
       AND handoff = 0
     RETURNING user_id`
  )
  const liveHandoffLink = q(
    `SELECT 1 FROM magic_links WHERE token_hash = ? AND tenant_id = ? AND handoff = 1
       AND consumed_at IS NULL AND revoked IS NULL AND expires_at > ?`
  )
  const deletedUserLink = q("SELECT 1 FROM deleted_user_links WHERE token_hash = ? AND tenant_id = ?")

  const selectTotp = q<TotpRow>("SELECT * FROM user_totp WHERE tenant_id = ? AND user_id = ?")
  // Only for a user that exists: the check and the write are one statement of one transaction.
  const upsertPending = q(
    `INSERT INTO user_totp (tenant_id, user_id, pending_secret, pending_since)
     SELECT tenant_id, user_id, @sealed, @now FROM users WHERE tenant_id = @tenantId AND user_id = @userId
     ON CONFLICT (tenant_id, user_id) DO UPDATE
       SET pending_secret = excluded.pending_secret, pending_since = excluded.pending_since`
  )
  const clearTotp = q(
    `UPDATE user_totp SET confirmed_secret = NULL, pending_secret = NULL, pending_since = NULL
     WHERE tenant_id = ? AND user_id = ?`
  )
  // Counts the attempt before the comparison; refuses it (no row) while locked out. Every SET
  // expression reads the row as it was. The attempt that reaches the limit starts a lock-out:
  // of the next level when the previous one ended within the escalation window, else of level 1;
  // lockout.ts has the same rules (and the reason for the version 1 fallback in the WHERE).
  const countAttempt = q<TotpRow>(
    `UPDATE user_totp
     SET failures = CASE WHEN failures >= @limit THEN 1 ELSE failures + 1 END,
         last_failure_at = @now,
         lockouts = CASE
           WHEN (CASE WHEN failures >= @limit THEN 1 ELSE failures + 1 END) < @limit THEN lockouts
           WHEN locked_until > @now - @window THEN min(lockouts + 1, @maxLevel)
           ELSE 1 END,
         locked_until = CASE
           WHEN (CASE WHEN failures >= @limit THEN 1 ELSE failures + 1 END) < @limit THEN locked_until
           ELSE @now + min(@maxBackoff, @backoff << (CASE
             WHEN locked_until > @now - @window THEN min(lockouts + 1, @maxLevel)
             ELSE 1 END - 1)) END,
         pending_secret = CASE WHEN pending_since <= @now - @lifetime THEN NULL ELSE pending_secret END,
         pending_since = CASE WHEN pending_since <= @now - @lifetime THEN NULL ELSE pending_since END
     WHERE tenant_id = @tenantId AND user_id = @userId
       AND coalesce(locked_until, CASE WHEN failures >= @limit THEN last_failure_at + @backoff END, 0) <= @now
     RETURNING *`
  )
  const acceptConfirmed = q(
    `UPDATE user_totp SET last_step = @step, failures = 0, last_failure_at = NULL, lockouts = 0, locked_until = NULL
     WHERE tenant_id = @tenantId AND user_id = @userId AND confirmed_secret = @secret
       AND (last_step IS NULL OR last_step < @step)`
  )
  const acceptPending = q(
    `UPDATE user_totp SET confirmed_secret = pending_secret, pending_secret = NULL, pending_since = NULL,
       last_step = @step, failures = 0, last_failure_at = NULL, lockouts = 0, locked_until = NULL
     WHERE tenant_id = @tenantId AND user_id = @userId AND pending_secret = @secret
       AND (last_step IS NULL OR last_step < @step)`
  )
  const sampleSecret = q<{ tenant_id: string; user_id: string; sealed: string }>(
    `SELECT tenant_id, user_id, coalesce(confirmed_secret, pending_secret) AS sealed FROM user_totp
     WHERE coalesce(confirmed_secret, pending_secret) IS NOT NULL LIMIT 1`
  )

  const selectKeyCheck = q<{ sealed: string }>("SELECT sealed FROM keyring_check WHERE id = 1")
  const insertKeyCheck = q("INSERT INTO keyring_check (id, sealed) VALUES (1, ?) ON CONFLICT DO NOTHING")
  const replaceKeyCheck = q("UPDATE keyring_check SET sealed = ? WHERE id = 1 AND sealed = ?")

  // A message waits while an older one of its user is pending (due later, or leased).
  const claim = q<OutboxRow>(
    `UPDATE outbox SET lease_until = @leaseUntil, attempts = attempts + 1
     WHERE id IN (
       SELECT id FROM outbox o
       WHERE status = 'pending' AND next_attempt_at <= @now AND lease_until <= @now
         AND NOT EXISTS (SELECT 1 FROM outbox older
                         WHERE older.tenant_id = o.tenant_id AND older.user_id = o.user_id
                           AND older.status = 'pending' AND older.seq < o.seq)
       ORDER BY next_attempt_at, seq LIMIT @limit)
     RETURNING *`
  )
  const renew = q(
    "UPDATE outbox SET lease_until = ? WHERE id = ? AND lease_until = ? AND status = 'pending'"
  )
  const markSent = q("UPDATE outbox SET status = 'sent', last_error = NULL WHERE id = ? AND lease_until = ?")
  // A newer message of the user revoked this one's link: it is not tried again.
  const supersededIfNewer = `CASE WHEN EXISTS (SELECT 1 FROM outbox newer
      WHERE newer.tenant_id = outbox.tenant_id AND newer.user_id = outbox.user_id AND newer.seq > outbox.seq)
    THEN 'superseded' ELSE status END`
  const retry = q(
    `UPDATE outbox SET status = ${supersededIfNewer}, next_attempt_at = ?, last_error = ?, lease_until = 0
     WHERE id = ? AND lease_until = ?`
  )
  const finish = q("UPDATE outbox SET status = ?, last_error = ? WHERE id = ? AND lease_until = ?")
  const release = q(
    `UPDATE outbox SET status = ${supersededIfNewer}, lease_until = 0, attempts = attempts - 1
     WHERE id = ? AND lease_until = ?`
  )
  const listMessages = q<OutboxRow>("SELECT * FROM outbox ORDER BY created_at DESC, seq DESC LIMIT ?")
  const pendingStats = q<{ n: number; oldest: number | null }>(
    "SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE status = 'pending'"
  )
  const purgeLinks = q("DELETE FROM magic_links WHERE expires_at < ? AND created_at < ?")
  const purgeDeletedUserLinks = q("DELETE FROM deleted_user_links WHERE expires_at < ?")
  const purgeMessages = q("DELETE FROM outbox WHERE status <> 'pending' AND expires_at < ?")
  const purgeEnrolments = q(
    "UPDATE user_totp SET pending_secret = NULL, pending_since = NULL WHERE pending_since < ?"
  )

  // Recovery codes, e-mail codes and the sign-in handoff (SPEC 5).
  const deleteRecoveryCodes = q("DELETE FROM recovery_codes WHERE tenant_id = ? AND user_id = ?")
  const confirmedTotp = q<{ confirmed: number }>(
    `SELECT (SELECT confirmed_secret IS NOT NULL FROM user_totp t
             WHERE t.tenant_id = u.tenant_id AND t.user_id = u.user_id) AS confirmed
     FROM users u WHERE u.tenant_id = ? AND u.user_id = ?`
  )
  const insertRecoveryCode = q(
    "INSERT INTO recovery_codes (tenant_id, user_id, code_hash, key_id, created_at) VALUES (?, ?, ?, ?, ?)"
  )
  const recoverySummary = q<{ key_id: string | null; remaining: number; created_at: number | null }>(
    `SELECT max(key_id) AS key_id, count(*) FILTER (WHERE used_at IS NULL) AS remaining, max(created_at) AS created_at
     FROM recovery_codes WHERE tenant_id = ? AND user_id = ?`
  )
  // The single statement that makes a code single-use.
  const useCode = q(
    `UPDATE recovery_codes SET used_at = ?
     WHERE tenant_id = ? AND user_id = ? AND code_hash = ? AND used_at IS NULL`
  )
  const resetFailures = q(
    `UPDATE user_totp SET failures = 0, last_failure_at = NULL, lockouts = 0, locked_until = NULL
     WHERE tenant_id = ? AND user_id = ?`
  )
  const liveEmailCode = q<{ token_hash: string; code_key_id: string }>(
    `SELECT token_hash, code_key_id FROM magic_links
     WHERE tenant_id = ? AND user_id = ? AND consumed_at IS NULL AND revoked IS NULL AND expires_at > ?
       AND code_hash IS NOT NULL AND code_key_id IS NOT NULL
     ORDER BY created_at DESC LIMIT 1`
  )
  // One statement per attempt: a right code consumes the challenge; a wrong one is counted, and
  // the one that reaches the limit revokes it (every SET expression reads the row as it was).
  const tryCode = q<{ user_id: string; consumed: number; revoked: string | null }>(
    `UPDATE magic_links SET
       consumed_at = CASE WHEN code_hash = @codeHash THEN @now ELSE consumed_at END,
       code_failures = CASE WHEN code_hash = @codeHash THEN code_failures ELSE code_failures + 1 END,
       revoked = CASE WHEN code_hash <> @codeHash AND code_failures + 1 >= @limit THEN 'code-failures' ELSE revoked END
     WHERE token_hash = @tokenHash AND tenant_id = @tenantId AND consumed_at IS NULL AND revoked IS NULL
       AND expires_at > @now AND code_hash IS NOT NULL
     RETURNING user_id, consumed_at IS NOT NULL AS consumed, revoked`
  )
  const insertHandoff = q(
    `INSERT INTO handoffs (id_hash, tenant_id, user_id, token_hash, match_number, choices, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
  )
  const liveHandoff = q<{ id_hash: string; match_number: number; choices: string; user_id: string }>(
    `SELECT h.id_hash, h.match_number, h.choices, h.user_id FROM magic_links l JOIN handoffs h ON h.token_hash = l.token_hash
     WHERE l.token_hash = ? AND l.tenant_id = ? AND l.handoff = 1 AND l.consumed_at IS NULL AND l.revoked IS NULL
       AND l.expires_at > ? AND h.status = 'pending'`
  )
  const approveLink = q("UPDATE magic_links SET consumed_at = ? WHERE token_hash = ?")
  const denyLink = q("UPDATE magic_links SET revoked = 'handoff-denied' WHERE token_hash = ?")
  const decide = q("UPDATE handoffs SET status = ?, decided_at = ? WHERE id_hash = ?")
  // Hands an approved handoff over to one reader: of concurrent readers, one updates it.
  const claimHandoff = q<{ user_id: string; email: string | null }>(
    `UPDATE handoffs SET status = 'claimed'
     WHERE id_hash = ? AND tenant_id = ? AND status = 'approved' AND expires_at > ?
     RETURNING user_id, (SELECT email FROM users u WHERE u.tenant_id = handoffs.tenant_id AND u.user_id = handoffs.user_id) AS email`
  )
  const handoffState = q<{ status: string; expires_at: number; live: number }>(
    `SELECT h.status, h.expires_at,
            (l.consumed_at IS NULL AND l.revoked IS NULL AND l.expires_at > ?) AS live
     FROM handoffs h JOIN magic_links l ON l.token_hash = h.token_hash
     WHERE h.id_hash = ? AND h.tenant_id = ?`
  )
  const pendingHandoffs = q<{ id_hash: string }>(
    `SELECT h.id_hash FROM handoffs h JOIN magic_links l ON l.token_hash = h.token_hash
     WHERE h.id_hash IN (SELECT value FROM json_each(?)) AND h.status = 'pending'
       AND l.consumed_at IS NULL AND l.revoked IS NULL`
  )
  // -------------------------------------------------------------------------------------------
  // Events and webhooks (SPEC 6). An event's seq is handed out in its write transaction, and
  // SQLite has one writer at a time: seq order is commit order.
  const insertEvent = q(
    "INSERT INTO events (id, tenant_id, type, occurred_at, user_id, actor, data) VALUES (?, ?, ?, ?, ?, ?, ?)"
  )
  const insertDeliveries = q(
    `INSERT INTO webhook_deliveries (webhook_id, event_id, tenant_id, event_type, payload, created_at, next_attempt_at)
     SELECT id, @eventId, tenant_id, @type, @payload, @at, @at FROM webhooks
     WHERE tenant_id = @tenantId AND enabled = 1 AND (instr(events, ',*,') > 0 OR instr(events, @pattern) > 0)`
  )
  const insertEvents = (list: ReadonlyArray<NewEvent>) => {
    for (const e of list) {
      const id = newEventId(e.occurredAt)
      insertEvent.run(id, e.tenantId, e.type, e.occurredAt, e.userId ?? null, e.actor ?? null, JSON.stringify(e.data))
      insertDeliveries.run({
        eventId: id,
        type: e.type,
        payload: JSON.stringify(eventJson({ ...e, id })),
        at: e.occurredAt,
        tenantId: e.tenantId,
        pattern: `,${e.type},`
      })
    }
  }
  // The events of a step's outcome, in the step's transaction.
  const withEvents = <A>(events: EventsOf<A> | undefined, run: () => A) => () => {
    const result = run()
    if (events !== undefined) insertEvents(events(result))
    return result
  }
  const selectEvents = q<EventRow>(
    `SELECT seq AS position, id, tenant_id, type, occurred_at, user_id, actor, data FROM events
     WHERE tenant_id = @tenantId AND seq > @after
       AND (@types IS NULL OR type IN (SELECT value FROM json_each(@types)))
     ORDER BY seq LIMIT @limit`
  )
  const purgeOldEvents = q("DELETE FROM events WHERE occurred_at < ?")
  const purgeDeliveries = q("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?")
  const insertWebhookRow = q(
    `INSERT INTO webhooks (id, tenant_id, url, events, enabled, created_at, secret, previous_secret, previous_until, failing_since)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
  )
  const selectWebhooks = q<WebhookRow>("SELECT * FROM webhooks WHERE tenant_id = ? ORDER BY created_at, id")
  const selectWebhook = q<WebhookRow>("SELECT * FROM webhooks WHERE tenant_id = ? AND id = ?")
  const selectWebhookById = q<WebhookRow>("SELECT * FROM webhooks WHERE id = ?")
  const deleteWebhookRow = q("DELETE FROM webhooks WHERE tenant_id = ? AND id = ?")
  const rotateSecret = q<WebhookRow>(
    `UPDATE webhooks SET previous_secret = secret, previous_until = ?, secret = ?
     WHERE tenant_id = ? AND id = ? RETURNING *`
  )
  const selectDeliveries = q<DeliveryRow>(
    `SELECT * FROM webhook_deliveries WHERE tenant_id = ? AND webhook_id = ?
     ORDER BY created_at DESC, rowid DESC LIMIT ?`
  )
  const selectAttempts = q<AttemptRow>(
    `SELECT * FROM webhook_attempts WHERE webhook_id = ? AND event_id IN (SELECT value FROM json_each(?))
     ORDER BY attempt`
  )
  const retryDelivery = q(
    `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?
     WHERE tenant_id = ? AND webhook_id = ? AND event_id = ?`
  )
  const enableWebhook = q("UPDATE webhooks SET enabled = 1, failing_since = NULL WHERE id = ?")
  const retryFailedDeliveries = q(
    `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?
     WHERE tenant_id = ? AND webhook_id = ? AND status = 'failed' AND created_at >= ?`
  )
  const claimDeliveries = q<DeliveryRow>(
    `UPDATE webhook_deliveries SET lease_until = @leaseUntil, attempts = attempts + 1
     WHERE rowid IN (
       SELECT d.rowid FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
       WHERE d.status = 'pending' AND d.next_attempt_at <= @now AND d.lease_until <= @now AND w.enabled = 1
       ORDER BY d.next_attempt_at, d.rowid LIMIT @limit)
     RETURNING *`
  )
  const insertAttempt = q(
    `INSERT INTO webhook_attempts (webhook_id, event_id, attempt, attempted_at, status_code, duration_millis, error)
     VALUES (?, ?, (SELECT coalesce(max(attempt), 0) + 1 FROM webhook_attempts WHERE webhook_id = ? AND event_id = ?), ?, ?, ?, ?)`
  )
  const finishDelivery = q(
    `UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, lease_until = 0
     WHERE webhook_id = ? AND event_id = ? AND lease_until = ?`
  )
  const webhookFailing = q(
    "UPDATE webhooks SET failing_since = coalesce(failing_since, ?), enabled = enabled AND NOT ? WHERE id = ?"
  )
  const webhookSucceeded = q("UPDATE webhooks SET failing_since = NULL WHERE id = ?")

  // Reads another process's commits too: each statement outside a transaction reads the latest.
  const watch = makeHandoffWatch((ids) =>
    attempt(() => new Set(pendingHandoffs.all(JSON.stringify(ids)).map((r) => r.id_hash)))
  )

  // operator: key rotation, export/import, outbox listing
  const op = operatorStatements(q)

  return {
    insertTenant: (t) => write(() => insertTenant.run(t.tenantId, t.name, t.callbackUrl, t.createdAt).changes === 1),
    getTenant: (tenantId) => attempt(() => Option.map(Option.fromNullable(selectTenant.get(tenantId)), tenant)),
    findTenantByName: (name) =>
      attempt(() => Option.map(Option.fromNullable(selectTenantByName.get(name)), tenant)),
    setTenantCallbackUrl: (tenantId, callbackUrl, events) =>
      write(withEvents(events, () => Option.map(Option.fromNullable(updateTenantCallback.get(callbackUrl, tenantId)), tenant))),

    insertAccessToken: (t, events) =>
      write(withEvents(events, 
        () =>
          insertToken.run(
            t.tokenId,
            t.tenantId,
            t.name,
            t.secretHash,
            t.permissions.join(","),
            t.createdBy,
            t.createdAt
          ).changes === 1
      )),
    findAccessToken: (secretHash) =>
      attempt(() => Option.map(Option.fromNullable(selectToken.get(secretHash)), token)),
    listAccessTokens: (tenantId, { limit, offset }) =>
      attempt(() =>
        db
          .transaction(() => ({
            items: listTokens.all(tenantId, limit, offset).map(token),
            total: countTokens.get(tenantId)!.n
          }))
          .deferred()
      ),
    revokeAccessToken: (tenantId, tokenId, now, events) =>
      write(withEvents(events, () => revokeToken.run(now, tenantId, tokenId).changes === 1)),

    insertUser: (tenantId, user, now, events) =>
      write(withEvents(events, () => insertUser.run(tenantId, user.userId, user.email ?? null, now).changes === 1)),
    getUser: (tenantId, userId) =>
      attempt(() =>
        Option.map(Option.fromNullable(selectUser.get(tenantId, userId)), user)
      ),
    updateUserEmail: (tenantId, userId, email, events) =>
      write(withEvents(events, () => {
        const before = selectUser.get(tenantId, userId)
        if (!before) return Option.none()
        if (before.email !== email) revokeLinks.run("email-changed", tenantId, userId)
        const r = updateEmail.get(email, tenantId, userId)!
        return Option.some(user(r))
      })),
    deleteUser: (tenantId, userId, now, events) =>
      write(withEvents(events, () => {
        if (!selectUser.get(tenantId, userId)) return false
        keepDeletedUserLinks.run(tenantId, userId, now)
        deleteUserRow.run(tenantId, userId)
        return true
      })),

    issueMagicLink: (r, events) =>
      write(withEvents(events, () => {
        // The immediate transaction holds the write lock: the address cannot change meanwhile.
        if (selectUser.get(r.tenantId, r.userId)?.email !== r.email) return { _tag: "UserChanged" } as const
        const recent = recentLinks.all(r.tenantId, r.userId, r.now - r.windowMillis)
        if (recent.length >= r.limit) {
          return { _tag: "Throttled", retryAt: recent[recent.length - r.limit]!.created_at + r.windowMillis } as const
        }
        revokeLinks.run("replaced", r.tenantId, r.userId)
        supersedeMessages.run(r.tenantId, r.userId, r.now)
        insertLink.run(r.tokenHash, r.tenantId, r.userId, r.now, r.expiresAt, r.code?.hash ?? null, r.code?.keyId ?? null, r.handoff ? 1 : 0)
        if (r.handoff) {
          insertHandoff.run(r.handoff.idHash, r.tenantId, r.userId, r.tokenHash, r.handoff.matchNumber, r.handoff.choices.join(","), r.now, r.expiresAt)
        }
        insertMessage.run(r.message.id, r.tenantId, r.userId, r.message.sealed, r.now, r.expiresAt, r.now)
        return { _tag: "Issued" } as const
      })),
    consumeMagicLink: (tenantId, tokenHash, now, events) =>
      write(withEvents(events, () => {
        const consumed = consumeLink.get(now, tokenHash, tenantId, now)
        if (consumed) return { _tag: "Consumed", userId: consumed.user_id } as const
        // Only on the failure path: tell a deleted user's link (or a handoff's) from an invalid one.
        if (liveHandoffLink.get(tokenHash, tenantId, now) !== undefined) return { _tag: "Handoff" } as const
        return deletedUserLink.get(tokenHash, tenantId) !== undefined
          ? ({ _tag: "UserDeleted" } as const)
          : ({ _tag: "Invalid" } as const)
      })),

    getTotp: (tenantId, userId) => attempt(() => Option.map(Option.fromNullable(selectTotp.get(tenantId, userId)), totp)),
    setPendingTotp: (tenantId, userId, sealed, now, events) =>
      write(withEvents(events, () => upsertPending.run({ tenantId, userId, sealed, now }).changes === 1)),
    disableTotp: (tenantId, userId, events) =>
      write(withEvents(events, () => {
        clearTotp.run(tenantId, userId)
        deleteRecoveryCodes.run(tenantId, userId)
      })),
    beginTotpAttempt: (tenantId, userId, now, policy, events) =>
      write(withEvents(events, () => {
        const counted = countAttempt.get({
          tenantId,
          userId,
          now,
          limit: policy.limit,
          backoff: policy.backoffMillis,
          maxBackoff: policy.maxBackoffMillis,
          maxLevel: maxLockoutLevel(policy),
          window: policy.escalationWindowMillis,
          lifetime: policy.enrolmentLifetimeMillis
        })
        if (counted) return { _tag: "Allowed", totp: totp(counted) } as const
        // The same transaction: no row means no TOTP state, a row means a lock-out.
        const row = selectTotp.get(tenantId, userId)
        if (!row) return { _tag: "Missing" } as const
        const lockedUntil = lockoutEnd(
          { failures: row.failures, lastFailureAt: row.last_failure_at ?? undefined, lockedUntil: row.locked_until ?? undefined },
          policy
        )
        return { _tag: "Locked", retryAt: lockedUntil ?? now } as const
      })),
    acceptTotpStep: ({ kind, secret, step, tenantId, userId }, events) =>
      write(withEvents(events, () => (kind === "confirmed" ? acceptConfirmed : acceptPending).run({ tenantId, userId, secret, step }).changes === 1)),
    sampleTotpSecret: attempt(() =>
      Option.map(Option.fromNullable(sampleSecret.get()), (r) => ({
        tenantId: r.tenant_id,
        userId: r.user_id,
        sealed: r.sealed
      }))
    ),

    getKeyCheck: attempt(() => Option.map(Option.fromNullable(selectKeyCheck.get()), (r) => r.sealed)),
    insertKeyCheck: (sealed) => write(() => insertKeyCheck.run(sealed).changes === 1),
    replaceKeyCheck: (previous, next) => write(() => replaceKeyCheck.run(next, previous).changes === 1),

    claimOutbox: (now, leaseMillis, limit) =>
      write(() => claim.all({ now, leaseUntil: now + leaseMillis, limit }).map(outbox)),
    renewOutboxLeases: (claimed, leaseUntil) =>
      write(() => claimed.filter((c) => renew.run(leaseUntil, c.id, c.leaseUntil).changes === 1).map((c) => c.id)),
    markOutboxSent: (c, events) => write(withEvents(events, () => markSent.run(c.id, c.leaseUntil).changes === 1)),
    retryOutbox: (c, nextAttemptAt, error) =>
      write(() => retry.run(nextAttemptAt, error, c.id, c.leaseUntil).changes === 1),
    finishOutbox: (c, status, error, events) => write(withEvents(events, () => finish.run(status, error, c.id, c.leaseUntil).changes === 1)),
    releaseOutbox: (c) => write(() => release.run(c.id, c.leaseUntil).changes === 1),
    listOutbox: (limit) => attempt(() => listMessages.all(limit).map(outbox)),

    outboxStats: attempt(() => {
      const row = pendingStats.get()!
      return { pending: row.n, oldestCreatedAt: row.oldest ?? undefined }
    }),

    purge: (before, enrolmentsBefore) =>
      write(
        () =>
          purgeLinks.run(before, before).changes +
          purgeDeletedUserLinks.run(before).changes +
          purgeMessages.run(before).changes +
          (enrolmentsBefore === undefined ? 0 : purgeEnrolments.run(enrolmentsBefore).changes)
      ),

    // -----------------------------------------------------------------------------------------
    // Recovery codes, e-mail codes and the sign-in handoff (SPEC 5).

    replaceRecoveryCodes: (tenantId, userId, set, events) =>
      write(withEvents(events, () => {
        // The immediate transaction holds the write lock: TOTP cannot be turned off meanwhile.
        const row = confirmedTotp.get(tenantId, userId)
        if (!row) return "NoUser" as const
        if (row.confirmed !== 1) return "NoTotp" as const
        deleteRecoveryCodes.run(tenantId, userId)
        for (const hash of set.hashes) insertRecoveryCode.run(tenantId, userId, hash, set.keyId, set.createdAt)
        return "Replaced" as const
      })),
    getRecoveryCodes: (tenantId, userId) =>
      attempt(() => {
        const row = recoverySummary.get(tenantId, userId)
        return row?.key_id == null || row.created_at === null
          ? Option.none()
          : Option.some({ keyId: row.key_id, remaining: row.remaining, createdAt: row.created_at })
      }),
    useRecoveryCode: (tenantId, userId, codeHash, now, events) =>
      write(withEvents(events, () => {
        if (useCode.run(now, tenantId, userId, codeHash).changes !== 1) return false
        resetFailures.run(tenantId, userId)
        return true
      })),

    findEmailCode: (tenantId, userId, now) =>
      attempt(() =>
        Option.map(Option.fromNullable(liveEmailCode.get(tenantId, userId, now)), (r) => ({
          tokenHash: r.token_hash,
          keyId: r.code_key_id
        }))
      ),
    tryEmailCode: ({ codeHash, limit, now, tenantId, tokenHash }, events) =>
      write(withEvents(events, () => {
        const row = tryCode.get({ codeHash, limit, now, tenantId, tokenHash })
        if (!row) return { _tag: "Invalid" } as const
        if (row.consumed === 1) return { _tag: "Consumed", userId: row.user_id } as const
        return { _tag: "Wrong", ended: row.revoked !== null } as const
      })),

    getHandoffChoices: (tenantId, tokenHash, now) =>
      attempt(() =>
        Option.map(Option.fromNullable(liveHandoff.get(tokenHash, tenantId, now)), (r) => r.choices.split(",").map(Number))
      ),
    decideHandoff: (tenantId, tokenHash, matchNumber, now, events) =>
      write(() => {
        const handoff = liveHandoff.get(tokenHash, tenantId, now)
        if (!handoff) return undefined
        const approved = handoff.match_number === matchNumber
        if (approved) approveLink.run(now, tokenHash)
        else denyLink.run(tokenHash)
        decide.run(approved ? "approved" : "denied", now, handoff.id_hash)
        if (events !== undefined) insertEvents(events({ outcome: approved ? "Approved" : "Denied", userId: handoff.user_id }))
        return { idHash: handoff.id_hash, approved }
      }).pipe(
        // Once committed: this process's waiters answer at once.
        Effect.map((decided) => {
          if (decided === undefined) return "Invalid" as const
          watch.signal(decided.idHash)
          return decided.approved ? ("Approved" as const) : ("Denied" as const)
        })
      ),
    // A read, and a write only to hand an approved handoff over (a waiting client reads often).
    readHandoff: (tenantId, idHash, now) =>
      Effect.flatMap(attempt(() => handoffState.get(now, idHash, tenantId)), (row): Effect.Effect<HandoffRead, Unavailable> => {
        if (!row) return Effect.succeed({ _tag: "Missing" })
        if (row.status === "denied") return Effect.succeed({ _tag: "Denied" })
        if (row.expires_at <= now) return Effect.succeed({ _tag: "Expired" })
        if (row.status === "approved") {
          // Of concurrent readers, one claims it; the others find it claimed.
          return write(() => {
            const claimed = claimHandoff.get(idHash, tenantId, now)
            return claimed ? ({ _tag: "Approved", user: user(claimed) } as const) : ({ _tag: "Expired" } as const)
          })
        }
        return Effect.succeed(
          row.status === "pending" && row.live === 1 ? { _tag: "Pending", expiresAt: row.expires_at } : { _tag: "Expired" }
        )
      }),
    watchHandoff: watch.watch,

    // -----------------------------------------------------------------------------------------
    // operator: key rotation, export/import, outbox listing

    listTenants: attempt(() => op.listTenants.all().map(tenant)),
    countSealed: attempt(() =>
      op.countSealed.all().map((r) => ({ kind: r.kind, keyId: r.key_id, count: r.n }))
    ),
    countRecoveryCodeSets: attempt(() => op.countRecoverySets.all().map((r) => ({ keyId: r.key_id, users: r.n }))),
    listSealed: (kind, { after, exceptKeyId, limit }) =>
      attempt(() => {
        const prefix = `v1.${exceptKeyId}.`
        const params = {
          prefix,
          length: prefix.length,
          first: after === undefined ? 1 : 0,
          tenantId: after?.tenantId ?? "",
          userId: after?.userId ?? "",
          id: after?.id ?? "",
          limit
        }
        return op.listSealed[kind].all(params).map((r) => ({
          kind,
          ref: { tenantId: r.tenant_id, userId: r.user_id, id: r.id },
          sealed: r.sealed
        }))
      }),
    resealValues: (updates) =>
      write(() =>
        updates.reduce(
          (n, u) =>
            n +
            (u.kind === "outbox"
              ? op.resealOutbox.run(u.next, u.ref.id, u.previous)
              : u.kind === "webhook-secret"
              ? op.resealWebhookSecret.run(u.next, u.ref.id, u.previous)
              : u.kind === "webhook-previous-secret"
              ? op.resealWebhookPreviousSecret.run(u.next, u.ref.id, u.previous)
              : (u.kind === "totp-confirmed" ? op.resealConfirmed : op.resealPending).run(
                u.next,
                u.ref.tenantId,
                u.ref.userId,
                u.previous
              )).changes,
          0
        )
      ),
    exportUsers: (tenantId, after, limit) =>
      attempt(() => op.exportUsers.all(tenantId, after === undefined ? 1 : 0, after ?? "", limit).map(exported)),
    importUser: (tenantId, u) =>
      write(() => {
        if (op.importUser.run(tenantId, u.userId, u.email ?? null, u.createdAt).changes !== 1) return false
        if (u.totp !== undefined) {
          op.importTotp.run(
            tenantId,
            u.userId,
            u.totp.confirmedSecret ?? null,
            u.totp.pendingSecret ?? null,
            u.totp.pendingSince ?? null,
            u.totp.lastStep ?? null
          )
        }
        return true
      }),
    listOutboxByStatus: (status, limit) =>
      attempt(() => op.listOutbox.all(status ?? null, status ?? null, limit).map(outbox)),
    retryFailedOutbox: (ids, now) =>
      write(() =>
        op.retryFailed
          .all({ now, all: ids === "all" ? 1 : 0, ids: JSON.stringify(ids === "all" ? [] : ids) })
          .map((r) => r.id)
      ),

    // -----------------------------------------------------------------------------------------
    // Events and webhooks (SPEC 6).

    appendEvents: (list) => write(() => insertEvents(list)),
    listEvents: ({ after, limit, tenantId, types }) =>
      attempt(() => {
        const from = after ?? startCursor
        const events = selectEvents
          .all({ tenantId, after: Number(from.position), limit, types: types === undefined ? null : JSON.stringify(types) })
          .map(eventOfRow)
        return { events, next: events.length > 0 ? events[events.length - 1]!.cursor : from }
      }),
    purgeEvents: (before, deliveriesBefore) =>
      write(() => purgeOldEvents.run(before).changes + purgeDeliveries.run(deliveriesBefore).changes),

    insertWebhook: (w) =>
      write(() => {
        insertWebhookRow.run(w.id, w.tenantId, w.url, encodeTypeList(w.events), w.enabled ? 1 : 0, w.createdAt, w.secret,
          w.previousSecret ?? null, w.previousUntil ?? null, w.failingSince ?? null)
      }),
    listWebhooks: (tenantId) => attempt(() => selectWebhooks.all(tenantId).map(webhookOfRow)),
    getWebhook: (tenantId, id) => attempt(() => Option.map(Option.fromNullable(selectWebhook.get(tenantId, id)), webhookOfRow)),
    deleteWebhook: (tenantId, id) => write(() => deleteWebhookRow.run(tenantId, id).changes === 1),
    rotateWebhookSecret: (tenantId, id, secret, previousUntil) =>
      write(() => Option.map(Option.fromNullable(rotateSecret.get(previousUntil, secret, tenantId, id)), webhookOfRow)),
    listWebhookDeliveries: (tenantId, webhookId, limit) =>
      attempt(() => {
        const rows = selectDeliveries.all(tenantId, webhookId, limit)
        const attempts = rows.length === 0 ? [] : selectAttempts.all(webhookId, JSON.stringify(rows.map((r) => r.event_id)))
        return deliveriesOfRows(rows, attempts)
      }),
    retryWebhookDelivery: (tenantId, webhookId, deliveryId, now) =>
      write(() => {
        if (retryDelivery.run(now, tenantId, webhookId, deliveryId).changes !== 1) return false
        enableWebhook.run(webhookId)
        return true
      }),
    retryFailedWebhookDeliveries: (tenantId, webhookId, since, now) =>
      write(() => {
        const changed = retryFailedDeliveries.run(now, tenantId, webhookId, since).changes
        if (changed > 0) enableWebhook.run(webhookId)
        return changed
      }),
    claimWebhookDeliveries: (now, leaseMillis, limit) =>
      write(() => {
        const rows = claimDeliveries.all({ now, leaseUntil: now + leaseMillis, limit })
        const hooks = new Map<string, ReturnType<typeof webhookOfRow>>()
        return rows
          .sort((a, b) => Number(a.next_attempt_at) - Number(b.next_attempt_at))
          .map((r) => {
            let hook = hooks.get(r.webhook_id)
            if (hook === undefined) {
              hook = webhookOfRow(selectWebhookById.get(r.webhook_id)!)
              hooks.set(r.webhook_id, hook)
            }
            return claimedOfRow(r, hook)
          })
      }),
    recordWebhookAttempt: ({ attempt: a, claimed: c, disable, outcome }) =>
      write(() => {
        const status = outcome._tag === "Delivered" ? "delivered" : outcome._tag === "Failed" ? "failed" : "pending"
        const next = outcome._tag === "Retry" ? outcome.nextAttemptAt : a.attemptedAt
        if (finishDelivery.run(status, next, c.webhookId, c.eventId, c.leaseUntil).changes !== 1) return false
        insertAttempt.run(c.webhookId, c.eventId, c.webhookId, c.eventId, a.attemptedAt, a.statusCode ?? null, a.durationMillis, a.error ?? null)
        if (outcome._tag === "Delivered") webhookSucceeded.run(c.webhookId)
        else webhookFailing.run(a.attemptedAt, disable === undefined ? 0 : 1, c.webhookId)
        if (disable !== undefined) insertEvents(disable)
        return true
      })
  }
}

// operator: key rotation, export/import, outbox listing

/** The key id a sealed column names (`v1.<keyId>.<iv>.<data>`), or `''`. */
const keyIdOf = (column: string) =>
  `CASE WHEN substr(${column}, 1, 3) = 'v1.' AND instr(substr(${column}, 4), '.') > 1
     THEN substr(${column}, 4, instr(substr(${column}, 4), '.') - 1) ELSE '' END`

const operatorStatements = (
  q: <R = unknown>(sql: string) => Database.Statement<Array<unknown>, R>
) => {
  const totpSealed = (column: string) =>
    q<SealedRow>(
      `SELECT tenant_id, user_id, '' AS id, ${column} AS sealed FROM user_totp
       WHERE ${column} IS NOT NULL AND substr(${column}, 1, @length) <> @prefix
         AND (@first = 1 OR (tenant_id, user_id) > (@tenantId, @userId))
       ORDER BY tenant_id, user_id LIMIT @limit`
    )
  const webhookSealed = (column: string) =>
    q<SealedRow>(
      `SELECT tenant_id, '' AS user_id, id, ${column} AS sealed FROM webhooks
       WHERE ${column} IS NOT NULL AND substr(${column}, 1, @length) <> @prefix AND (@first = 1 OR id > @id)
       ORDER BY id LIMIT @limit`
    )
  return {
    listTenants: q<TenantRow>("SELECT * FROM tenants ORDER BY created_at, tenant_id"),
    countSealed: q<{ kind: SealedKind; key_id: string; n: number }>(
      `SELECT 'totp-confirmed' AS kind, ${keyIdOf("confirmed_secret")} AS key_id, count(*) AS n
         FROM user_totp WHERE confirmed_secret IS NOT NULL GROUP BY 2
       UNION ALL
       SELECT 'totp-pending', ${keyIdOf("pending_secret")}, count(*)
         FROM user_totp WHERE pending_secret IS NOT NULL GROUP BY 2
       UNION ALL
       SELECT 'outbox', ${keyIdOf("sealed")}, count(*) FROM outbox GROUP BY 2
       UNION ALL
       SELECT 'webhook-secret', ${keyIdOf("secret")}, count(*) FROM webhooks GROUP BY 2
       UNION ALL
       SELECT 'webhook-previous-secret', ${keyIdOf("previous_secret")}, count(*)
         FROM webhooks WHERE previous_secret IS NOT NULL GROUP BY 2
       ORDER BY 1, 2`
    ),
    countRecoverySets: q<{ key_id: string; n: number }>(
      `SELECT key_id, count(*) AS n FROM (SELECT DISTINCT tenant_id, user_id, key_id FROM recovery_codes WHERE used_at IS NULL)
       GROUP BY key_id ORDER BY key_id`
    ),
    listSealed: {
      "totp-confirmed": totpSealed("confirmed_secret"),
      "totp-pending": totpSealed("pending_secret"),
      outbox: q<SealedRow>(
        `SELECT tenant_id, user_id, id, sealed FROM outbox
         WHERE substr(sealed, 1, @length) <> @prefix AND (@first = 1 OR id > @id)
         ORDER BY id LIMIT @limit`
      ),
      "webhook-secret": webhookSealed("secret"),
      "webhook-previous-secret": webhookSealed("previous_secret")
    } satisfies Record<SealedKind, unknown>,
    resealConfirmed: q(
      "UPDATE user_totp SET confirmed_secret = ? WHERE tenant_id = ? AND user_id = ? AND confirmed_secret = ?"
    ),
    resealPending: q(
      "UPDATE user_totp SET pending_secret = ? WHERE tenant_id = ? AND user_id = ? AND pending_secret = ?"
    ),
    resealOutbox: q("UPDATE outbox SET sealed = ? WHERE id = ? AND sealed = ?"),
    resealWebhookSecret: q("UPDATE webhooks SET secret = ? WHERE id = ? AND secret = ?"),
    resealWebhookPreviousSecret: q("UPDATE webhooks SET previous_secret = ? WHERE id = ? AND previous_secret = ?"),
    exportUsers: q<ExportRow>(
      `SELECT u.user_id, u.email, u.created_at, t.user_id IS NOT NULL AS has_totp,
              t.confirmed_secret, t.pending_secret, t.pending_since, t.last_step
       FROM users u LEFT JOIN user_totp t ON t.tenant_id = u.tenant_id AND t.user_id = u.user_id
       WHERE u.tenant_id = ? AND (? = 1 OR u.user_id > ?)
       ORDER BY u.user_id LIMIT ?`
    ),
    importUser: q(
      "INSERT INTO users (tenant_id, user_id, email, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
    ),
    importTotp: q(
      `INSERT INTO user_totp (tenant_id, user_id, confirmed_secret, pending_secret, pending_since, last_step)
       VALUES (?, ?, ?, ?, ?, ?)`
    ),
    listOutbox: q<OutboxRow>(
      "SELECT * FROM outbox WHERE (? IS NULL OR status = ?) ORDER BY created_at DESC, seq DESC LIMIT ?"
    ),
    retryFailed: q<{ id: string }>(
      `UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = @now, lease_until = 0, last_error = NULL
       WHERE status = 'failed' AND expires_at > @now
         AND (@all = 1 OR id IN (SELECT value FROM json_each(@ids)))
         AND NOT EXISTS (SELECT 1 FROM outbox newer
                         WHERE newer.tenant_id = outbox.tenant_id AND newer.user_id = outbox.user_id
                           AND newer.seq > outbox.seq)
       RETURNING id`
    )
  }
}

/**
 * Opens (creating and migrating if needed) a SQLite database file as the storage; closed when the
 * scope closes.
 * @since 0.0.0
 * @category constructors
 */
export const makeSqliteStorage = (options: SqliteStorageOptions) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => open(options),
      catch: (cause) =>
        new Unavailable({
          message: `Cannot open the SQLite database ${options.filename}: ${cause instanceof Error ? cause.message : String(cause)}`
        })
    }),
    (db) => Effect.sync(() => db.close())
  ).pipe(Effect.map(makeService))

/**
 * @since 0.0.0
 * @category layers
 */
export const layerSqlite = (options: SqliteStorageOptions): Layer.Layer<Storage, Unavailable> =>
  Layer.scoped(Storage, makeSqliteStorage(options))
