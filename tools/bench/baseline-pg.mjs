// Baseline: hand-written verify TOTP and get user on raw node:http + pg, doing the demo's statements
// on PostgreSQL (PgStorage.ts) with nothing of the core (raw-lib.mjs), each as an unnamed
// parameterised query like @effect/sql-pg's:
// - every request: the bearer token's SHA-256 and SELECT * FROM access_tokens;
// - GET /v1/users/:id: the user's SELECT (200);
// - GET /v1/users/:id/totp?payload=CODE: the user_totp SELECT, the sealed secret opened
//   (AES-256-GCM, then base32); BEGIN, the attempt-counting UPDATE ... RETURNING * (with no row:
//   the SELECT that tells a lock-out, and its event), COMMIT; the HMAC-SHA1 check (window 1); a
//   right code: BEGIN, the accept UPDATE ... RETURNING, its totp.verified event, COMMIT, the user's
//   SELECT (200); a wrong code: BEGIN, its totp.rejected event (and totp.locked), COMMIT (401).
//   Events as PgStorage writes them: one WITH e AS (INSERT INTO events) INSERT INTO
//   webhook_deliveries SELECT statement per event.
// The pool: pg.Pool of POOL_SIZE connections (default 10, the core's default) with the core's
// connection settings. Env: DATABASE_URL (migrated by the demo, with its tenant and BEARER's
// token), BEARER, LAGRELLO_ENCRYPTION_KEY, SEED_FILE: JSON {totp: [{userId, secret}], users: [userId]}.
import { readFileSync } from "node:fs"
import http from "node:http"
import pg from "pg"
import { b32decode, hotp } from "./otp.mjs"
import { bearerOf, errors, event, eventJson, hashToken, internal, lockoutEnd, makeSealer, newEventId, policy, retryAfterSeconds,
  send, userJson } from "./raw-lib.mjs"

pg.types.setTypeParser(20, (v) => Number(v)) // bigint columns (times, steps) as numbers, as the core reads them
const POOL_SIZE = Number(process.env.POOL_SIZE ?? 10)
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: POOL_SIZE, connectionTimeoutMillis: 3000, idleTimeoutMillis: 30000,
  statement_timeout: 5000, query_timeout: 7000, idle_in_transaction_session_timeout: 10000, keepAlive: true, application_name: "lagrello-baseline" })
pool.on("error", () => undefined)
const sealer = makeSealer(process.env.LAGRELLO_ENCRYPTION_KEY)
const secretContext = (tenantId, userId) => `totp/${tenantId}/${userId}`
const one = async (text, values) => (await pool.query(text, values)).rows[0]

const selectTokenSql = "SELECT * FROM access_tokens WHERE secret_hash = $1 AND revoked_at IS NULL"
const boot = await one(selectTokenSql, [hashToken(process.env.BEARER)])
if (!boot) throw new Error("BEARER is not an access token of DATABASE_URL (start the demo on it once first)")

// --- seeding, in batches
{
  const seed = JSON.parse(readFileSync(process.env.SEED_FILE, "utf8"))
  const t = boot.tenant_id, now = Date.now()
  const users = [...(seed.totp ?? []).map((u) => u.userId), ...(seed.users ?? [])]
  for (let i = 0; i < users.length; i += 1000) {
    const ids = users.slice(i, i + 1000)
    await pool.query(`INSERT INTO users (tenant_id, user_id, email, created_at)
      SELECT $1, u, u || '@example.com', $2 FROM unnest($3::text[]) AS u ON CONFLICT DO NOTHING`, [t, now, ids])
  }
  const totp = seed.totp ?? []
  for (let i = 0; i < totp.length; i += 1000) {
    const part = totp.slice(i, i + 1000)
    await pool.query(`INSERT INTO user_totp (tenant_id, user_id, confirmed_secret)
      SELECT $1, u, s FROM unnest($2::text[], $3::text[]) AS x(u, s) ON CONFLICT DO NOTHING`,
      [t, part.map((u) => u.userId), part.map((u) => sealer.seal(u.secret, secretContext(t, u.userId)))])
  }
  await pool.query("ANALYZE")
}

// --- the core's statements (PgStorage.ts)
const selectUserSql = "SELECT user_id, email FROM users WHERE tenant_id = $1 AND user_id = $2"
const selectTotpSql = "SELECT * FROM user_totp WHERE tenant_id = $1 AND user_id = $2"
// beginTotpAttempt, with the core's fragments (reaches, level, expired) written out.
const countAttemptSql = `UPDATE user_totp
            SET failures = CASE WHEN failures >= $1 THEN 1 ELSE failures + 1 END,
                last_failure_at = $2,
                lockouts = CASE WHEN (CASE WHEN failures >= $1 THEN 1 ELSE failures + 1 END) >= $1 THEN
                  (CASE WHEN locked_until > $2::bigint - $3::bigint THEN least(lockouts + 1, $4::integer) ELSE 1 END) ELSE lockouts END,
                locked_until = CASE WHEN (CASE WHEN failures >= $1 THEN 1 ELSE failures + 1 END) >= $1
                  THEN $2::bigint + least($5::bigint, $6::bigint << ((CASE WHEN locked_until > $2::bigint - $3::bigint
                    THEN least(lockouts + 1, $4::integer) ELSE 1 END) - 1))
                  ELSE locked_until END,
                pending_secret = CASE WHEN pending_since <= $2::bigint - $7::bigint THEN NULL ELSE pending_secret END,
                pending_since = CASE WHEN pending_since <= $2::bigint - $7::bigint THEN NULL ELSE pending_since END
            WHERE tenant_id = $8 AND user_id = $9
              AND coalesce(locked_until, CASE WHEN failures >= $1 THEN last_failure_at + $6::bigint END, 0)
                  <= $2::bigint
            RETURNING *`
const acceptConfirmedSql = `UPDATE user_totp SET last_step = $1, failures = 0, last_failure_at = NULL,
                    lockouts = 0, locked_until = NULL
                  WHERE tenant_id = $2 AND user_id = $3 AND confirmed_secret = $4
                    AND (last_step IS NULL OR last_step < $1)
                  RETURNING user_id`
const insertEventSql = `WITH e AS (
            INSERT INTO events (id, tenant_id, type, occurred_at, user_id, actor, data)
            VALUES ($1, $2, $3, $4, $5, $6, $7))
          INSERT INTO webhook_deliveries (webhook_id, event_id, tenant_id, event_type, payload, created_at, next_attempt_at)
          SELECT id, $1, tenant_id, $3, $8, $4, $4
          FROM webhooks
          WHERE tenant_id = $2 AND enabled
            AND (position(',*,' in events) > 0 OR position($9 in events) > 0)`
const insertEvents = async (client, list) => {
  for (const e of list) {
    const id = newEventId(e.occurredAt)
    await client.query(insertEventSql, [id, e.tenantId, e.type, e.occurredAt, e.userId ?? null, e.actor ?? null, JSON.stringify(e.data),
      JSON.stringify(eventJson({ ...e, id })), `,${e.type},`])
  }
}
// sql.withTransaction: BEGIN and COMMIT on one connection of the pool (ROLLBACK on failure).
const transaction = async (f) => {
  const client = await pool.connect()
  try {
    await client.query("BEGIN")
    const a = await f(client)
    await client.query("COMMIT")
    return a
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined)
    throw e
  } finally {
    client.release()
  }
}

const verifyTotp = async (res, token, userId, code) => {
  const tenantId = token.tenant_id, actor = token.token_id
  const now = Date.now()
  const rejected = (reason) => event(tenantId, now, actor, "totp.rejected", userId, { reason })
  const before = await one(selectTotpSql, [tenantId, userId])
  if (!before?.confirmed_secret) return send(res, 401, { errorType: "Unauthorized", message: "TOTP is not enabled for this user" })
  const secret = b32decode(sealer.open(before.confirmed_secret, secretContext(tenantId, userId)))
  const attempt = await transaction(async (c) => {
    const counted = (await c.query(countAttemptSql, [policy.limit, now, policy.window, policy.maxLevel, policy.maxBackoff, policy.backoff,
      policy.lifetime, tenantId, userId])).rows[0]
    if (counted) return { counted }
    const row = (await c.query(selectTotpSql, [tenantId, userId])).rows[0]
    await insertEvents(c, [rejected("locked")])
    return { retryAt: lockoutEnd(row) ?? now }
  })
  if (!attempt.counted) return send(res, 429, errors.locked, { "retry-after": String(retryAfterSeconds(attempt.retryAt, now)) })
  const T = Math.floor(now / 30_000)
  for (const step of [T - 1, T, T + 1]) {
    if (hotp(secret, step) !== code) continue
    const accepted = await transaction(async (c) => {
      const ok = (await c.query(acceptConfirmedSql, [step, tenantId, userId, attempt.counted.confirmed_secret])).rows.length === 1
      await insertEvents(c, [ok ? event(tenantId, now, actor, "totp.verified", userId) : rejected("already_used")])
      return ok
    })
    if (!accepted) return send(res, 401, errors.wrongCode)
    return send(res, 200, userJson(await one(selectUserSql, [tenantId, userId])))
  }
  const c = attempt.counted
  await transaction((client) => insertEvents(client, c.failures >= policy.limit && c.locked_until !== null
    ? [rejected("wrong_code"), event(tenantId, now, actor, "totp.locked", userId, { failures: c.failures, lockedUntil: new Date(c.locked_until).toISOString() })]
    : [rejected("wrong_code")]))
  send(res, 401, errors.wrongCode)
}

const getUser = async (res, token, userId) => {
  const u = await one(selectUserSql, [token.tenant_id, userId])
  if (!u) return send(res, 404, { errorType: "NotFound", message: `User ${userId} does not exist` })
  send(res, 200, userJson(u))
}

const totpRoute = /^\/v1\/users\/([^/?]+)\/totp\?payload=([^&]*)$/
const userRoute = /^\/v1\/users\/([^/?]+)$/
http
  .createServer((req, res) => {
    const t = totpRoute.exec(req.url)
    const u = t ? undefined : userRoute.exec(req.url)
    if (!t && !u) return send(res, 404, errors.notFound)
    const bearer = bearerOf(req.headers.authorization)
    if (bearer === undefined) return send(res, 403, errors.missingToken)
    pool.query(selectTokenSql, [hashToken(bearer)]).then(({ rows: [token] }) => {
      if (!token) return send(res, 403, errors.invalidToken)
      return t ? verifyTotp(res, token, decodeURIComponent(t[1]), decodeURIComponent(t[2])) : getUser(res, token, decodeURIComponent(u[1]))
    }).catch((e) => internal(res, e))
  })
  .listen(Number(process.env.PORT), process.env.HOST ?? "127.0.0.1", () => process.stdout.write("listening\n"))
process.on("SIGTERM", () => { pool.end().finally(() => process.exit(0)) })
