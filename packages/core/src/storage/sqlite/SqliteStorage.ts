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
import type { HandoffRead, StorageService } from "../Storage.js"
import { Storage } from "../Storage.js"
import type { OutboxRow, TenantRow, TokenRow, TotpRow, UserRow } from "../rows.js"
import { outbox, tenant, token, totp, user } from "../rows.js"
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
  const liveHandoff = q<{ id_hash: string; match_number: number; choices: string }>(
    `SELECT h.id_hash, h.match_number, h.choices FROM magic_links l JOIN handoffs h ON h.token_hash = l.token_hash
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
  // Reads another process's commits too: each statement outside a transaction reads the latest.
  const watch = makeHandoffWatch((ids) =>
    attempt(() => new Set(pendingHandoffs.all(JSON.stringify(ids)).map((r) => r.id_hash)))
  )

  return {
    insertTenant: (t) => write(() => insertTenant.run(t.tenantId, t.name, t.callbackUrl, t.createdAt).changes === 1),
    getTenant: (tenantId) => attempt(() => Option.map(Option.fromNullable(selectTenant.get(tenantId)), tenant)),
    findTenantByName: (name) =>
      attempt(() => Option.map(Option.fromNullable(selectTenantByName.get(name)), tenant)),
    setTenantCallbackUrl: (tenantId, callbackUrl) =>
      write(() => Option.map(Option.fromNullable(updateTenantCallback.get(callbackUrl, tenantId)), tenant)),

    insertAccessToken: (t) =>
      write(
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
      ),
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
    revokeAccessToken: (tenantId, tokenId, now) =>
      write(() => revokeToken.run(now, tenantId, tokenId).changes === 1),

    insertUser: (tenantId, user, now) =>
      write(() => insertUser.run(tenantId, user.userId, user.email ?? null, now).changes === 1),
    getUser: (tenantId, userId) =>
      attempt(() =>
        Option.map(Option.fromNullable(selectUser.get(tenantId, userId)), user)
      ),
    updateUserEmail: (tenantId, userId, email) =>
      write(() => {
        const before = selectUser.get(tenantId, userId)
        if (!before) return Option.none()
        if (before.email !== email) revokeLinks.run("email-changed", tenantId, userId)
        const r = updateEmail.get(email, tenantId, userId)!
        return Option.some(user(r))
      }),
    deleteUser: (tenantId, userId, now) =>
      write(() => {
        if (!selectUser.get(tenantId, userId)) return false
        keepDeletedUserLinks.run(tenantId, userId, now)
        deleteUserRow.run(tenantId, userId)
        return true
      }),

    issueMagicLink: (r) =>
      write(() => {
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
      }),
    consumeMagicLink: (tenantId, tokenHash, now) =>
      write(() => {
        const consumed = consumeLink.get(now, tokenHash, tenantId, now)
        if (consumed) return { _tag: "Consumed", userId: consumed.user_id } as const
        // Only on the failure path: tell a deleted user's link (or a handoff's) from an invalid one.
        if (liveHandoffLink.get(tokenHash, tenantId, now) !== undefined) return { _tag: "Handoff" } as const
        return deletedUserLink.get(tokenHash, tenantId) !== undefined
          ? ({ _tag: "UserDeleted" } as const)
          : ({ _tag: "Invalid" } as const)
      }),

    getTotp: (tenantId, userId) => attempt(() => Option.map(Option.fromNullable(selectTotp.get(tenantId, userId)), totp)),
    setPendingTotp: (tenantId, userId, sealed, now) =>
      write(() => upsertPending.run({ tenantId, userId, sealed, now }).changes === 1),
    disableTotp: (tenantId, userId) =>
      write(() => {
        clearTotp.run(tenantId, userId)
        deleteRecoveryCodes.run(tenantId, userId)
      }),
    beginTotpAttempt: (tenantId, userId, now, policy) =>
      write(() => {
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
      }),
    acceptTotpStep: ({ kind, secret, step, tenantId, userId }) =>
      write(() => (kind === "confirmed" ? acceptConfirmed : acceptPending).run({ tenantId, userId, secret, step }).changes === 1),
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
    markOutboxSent: (c) => write(() => markSent.run(c.id, c.leaseUntil).changes === 1),
    retryOutbox: (c, nextAttemptAt, error) =>
      write(() => retry.run(nextAttemptAt, error, c.id, c.leaseUntil).changes === 1),
    finishOutbox: (c, status, error) => write(() => finish.run(status, error, c.id, c.leaseUntil).changes === 1),
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

    replaceRecoveryCodes: (tenantId, userId, set) =>
      write(() => {
        // The immediate transaction holds the write lock: TOTP cannot be turned off meanwhile.
        const row = confirmedTotp.get(tenantId, userId)
        if (!row) return "NoUser" as const
        if (row.confirmed !== 1) return "NoTotp" as const
        deleteRecoveryCodes.run(tenantId, userId)
        for (const hash of set.hashes) insertRecoveryCode.run(tenantId, userId, hash, set.keyId, set.createdAt)
        return "Replaced" as const
      }),
    getRecoveryCodes: (tenantId, userId) =>
      attempt(() => {
        const row = recoverySummary.get(tenantId, userId)
        return row?.key_id == null || row.created_at === null
          ? Option.none()
          : Option.some({ keyId: row.key_id, remaining: row.remaining, createdAt: row.created_at })
      }),
    useRecoveryCode: (tenantId, userId, codeHash, now) =>
      write(() => {
        if (useCode.run(now, tenantId, userId, codeHash).changes !== 1) return false
        resetFailures.run(tenantId, userId)
        return true
      }),

    findEmailCode: (tenantId, userId, now) =>
      attempt(() =>
        Option.map(Option.fromNullable(liveEmailCode.get(tenantId, userId, now)), (r) => ({
          tokenHash: r.token_hash,
          keyId: r.code_key_id
        }))
      ),
    tryEmailCode: ({ codeHash, limit, now, tenantId, tokenHash }) =>
      write(() => {
        const row = tryCode.get({ codeHash, limit, now, tenantId, tokenHash })
        if (!row) return { _tag: "Invalid" } as const
        if (row.consumed === 1) return { _tag: "Consumed", userId: row.user_id } as const
        return { _tag: "Wrong", ended: row.revoked !== null } as const
      }),

    getHandoffChoices: (tenantId, tokenHash, now) =>
      attempt(() =>
        Option.map(Option.fromNullable(liveHandoff.get(tokenHash, tenantId, now)), (r) => r.choices.split(",").map(Number))
      ),
    decideHandoff: (tenantId, tokenHash, matchNumber, now) =>
      write(() => {
        const handoff = liveHandoff.get(tokenHash, tenantId, now)
        if (!handoff) return undefined
        const approved = handoff.match_number === matchNumber
        if (approved) approveLink.run(now, tokenHash)
        else denyLink.run(tokenHash)
        decide.run(approved ? "approved" : "denied", now, handoff.id_hash)
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
    watchHandoff: watch.watch
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
