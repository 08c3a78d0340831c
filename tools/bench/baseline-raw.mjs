// Baseline: hand-written verify TOTP and verify magic link on raw node:http + better-sqlite3, doing
// the demo's work for them (Totp.verify, MagicLink.verify and SqliteStorage), with nothing of the
// core (raw-lib.mjs):
// - every request: the bearer token's SHA-256 and the core's SELECT of the access token;
// - GET /v1/users/:id/totp?payload=CODE: the user_totp SELECT, the sealed secret opened
//   (AES-256-GCM, AAD totp/<tenant>/<user>, then base32), then in one write the attempt-counting
//   UPDATE ... RETURNING * (the core's statement; with no row, the SELECT that tells a lock-out:
//   429 and its totp.rejected event); the HMAC-SHA1 check (window 1); a right code: in a second
//   write the accept UPDATE and its totp.verified event, then the user's SELECT (200); a wrong
//   code: a second write of its totp.rejected event (and totp.locked on the attempt that locks)
//   (401). Events as SqliteStorage writes them: the row and the webhook_deliveries INSERT ... SELECT.
// - GET /v1/users/email?payload=TOKEN: the token's shape, its SHA-256, in one write the consuming
//   UPDATE ... RETURNING (and on failure the handoff and deleted-user SELECTs) with its
//   magic_link.verified/rejected event, then the user's SELECT (200, else 401).
// Writes go through a group commit like the product's (GROUP_COMMIT=0: one transaction and fsync
// per write, the old baseline); synchronous = FULL, WAL, foreign_keys, as the core.
// Env: DB_PATH (a database the demo has migrated, with its tenant and BEARER's token), BEARER,
// LAGRELLO_ENCRYPTION_KEY (seals the seeded secrets), SEED_FILE: JSON {totp: [{userId, secret
// (base32)}], links: [{userId, token}]} (or the array of totp users alone).
import { readFileSync } from "node:fs"
import http from "node:http"
import Database from "better-sqlite3"
import { b32decode, hotp } from "./otp.mjs"
import { bearerOf, errors, event, hashToken, internal, lockoutEnd, policy, retryAfterSeconds, send, sqliteBaseline, userJson,
  WELL_FORMED_TOKEN } from "./raw-lib.mjs"

const { boot, db, insertEvents, sealer, selectToken, write } = sqliteBaseline(Database)
const secretContext = (tenantId, userId) => `totp/${tenantId}/${userId}`

// --- seeding, in one transaction
const seedJson = JSON.parse(readFileSync(process.env.SEED_FILE, "utf8"))
const seed = Array.isArray(seedJson) ? { totp: seedJson, links: [] } : { totp: seedJson.totp ?? [], links: seedJson.links ?? [] }
db.transaction(() => {
  const now = Date.now()
  const insU = db.prepare("INSERT INTO users (tenant_id, user_id, email, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
  const insT = db.prepare("INSERT INTO user_totp (tenant_id, user_id, confirmed_secret) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
  const insL = db.prepare(`INSERT INTO magic_links (token_hash, tenant_id, user_id, created_at, expires_at, code_hash, code_key_id, handoff)
     VALUES (?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING`)
  const t = boot.tenant_id
  for (const u of seed.totp) {
    insU.run(t, u.userId, `${u.userId}@example.com`, now)
    insT.run(t, u.userId, sealer.seal(u.secret, secretContext(t, u.userId)))
  }
  for (const l of seed.links) {
    insU.run(t, l.userId, `${l.userId}@example.com`, now)
    const tokenHash = hashToken(l.token)
    const code = sealer.keyedHash(`email-code\u0000${tokenHash}\u0000123456`)
    insL.run(tokenHash, t, l.userId, now, now + 3_600_000, code.hash, code.keyId)
  }
})()

// --- the core's statements (SqliteStorage.ts)
const selectUser = db.prepare("SELECT user_id, email FROM users WHERE tenant_id = ? AND user_id = ?")
const selectTotp = db.prepare("SELECT * FROM user_totp WHERE tenant_id = ? AND user_id = ?")
const countAttempt = db.prepare(`UPDATE user_totp
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
     RETURNING *`)
const acceptConfirmed = db.prepare(`UPDATE user_totp SET last_step = @step, failures = 0, last_failure_at = NULL, lockouts = 0, locked_until = NULL
     WHERE tenant_id = @tenantId AND user_id = @userId AND confirmed_secret = @secret
       AND (last_step IS NULL OR last_step < @step)`)
const consumeLink = db.prepare(`UPDATE magic_links SET consumed_at = ?
     WHERE token_hash = ? AND tenant_id = ? AND consumed_at IS NULL AND revoked IS NULL AND expires_at > ?
       AND handoff = 0
     RETURNING user_id`)
const liveHandoffLink = db.prepare(`SELECT 1 FROM magic_links WHERE token_hash = ? AND tenant_id = ? AND handoff = 1
       AND consumed_at IS NULL AND revoked IS NULL AND expires_at > ?`)
const deletedUserLink = db.prepare("SELECT 1 FROM deleted_user_links WHERE token_hash = ? AND tenant_id = ?")

// --- verify TOTP (Totp.verify; the bench's users have a confirmed secret and no pending one)
const verifyTotp = async (res, token, userId, code) => {
  const tenantId = token.tenant_id, actor = token.token_id
  const now = Date.now()
  const rejected = (reason) => event(tenantId, now, actor, "totp.rejected", userId, { reason })
  const before = selectTotp.get(tenantId, userId)
  if (!before?.confirmed_secret) return send(res, 401, { errorType: "Unauthorized", message: "TOTP is not enabled for this user" })
  const secret = b32decode(sealer.open(before.confirmed_secret, secretContext(tenantId, userId)))
  const attempt = await write(() => {
    const counted = countAttempt.get({ tenantId, userId, now, limit: policy.limit, backoff: policy.backoff, maxBackoff: policy.maxBackoff,
      maxLevel: policy.maxLevel, window: policy.window, lifetime: policy.lifetime })
    if (counted) return { counted }
    const row = selectTotp.get(tenantId, userId)
    insertEvents([rejected("locked")])
    return { retryAt: lockoutEnd(row) ?? now }
  })
  if (!attempt.counted) return send(res, 429, errors.locked, { "retry-after": String(retryAfterSeconds(attempt.retryAt, now)) })
  const T = Math.floor(now / 30_000)
  for (const step of [T - 1, T, T + 1]) {
    if (hotp(secret, step) !== code) continue
    const accepted = await write(() => {
      const ok = acceptConfirmed.run({ tenantId, userId, secret: attempt.counted.confirmed_secret, step }).changes === 1
      insertEvents([ok ? event(tenantId, now, actor, "totp.verified", userId) : rejected("already_used")])
      return ok
    })
    if (!accepted) return send(res, 401, errors.wrongCode)
    const u = selectUser.get(tenantId, userId)
    return send(res, 200, userJson(u))
  }
  const c = attempt.counted
  await write(() => insertEvents(c.failures >= policy.limit && c.locked_until !== null
    ? [rejected("wrong_code"), event(tenantId, now, actor, "totp.locked", userId, { failures: c.failures, lockedUntil: new Date(c.locked_until).toISOString() })]
    : [rejected("wrong_code")]))
  send(res, 401, errors.wrongCode)
}

// --- verify magic link (MagicLink.verify)
const verifyLink = async (res, token, link) => {
  const tenantId = token.tenant_id, actor = token.token_id
  const now = Date.now()
  if (!WELL_FORMED_TOKEN.test(link)) {
    await write(() => insertEvents([event(tenantId, now, actor, "magic_link.rejected", undefined, { reason: "malformed" })]))
    return send(res, 401, errors.invalidLink)
  }
  const tokenHash = hashToken(link)
  const r = await write(() => {
    const consumed = consumeLink.get(now, tokenHash, tenantId, now)
    const result = consumed ? { _tag: "Consumed", userId: consumed.user_id }
      : liveHandoffLink.get(tokenHash, tenantId, now) !== undefined ? { _tag: "Handoff" }
      : deletedUserLink.get(tokenHash, tenantId) !== undefined ? { _tag: "UserDeleted" } : { _tag: "Invalid" }
    insertEvents([result._tag === "Consumed"
      ? event(tenantId, now, actor, "magic_link.verified", result.userId, { method: "link" })
      : event(tenantId, now, actor, "magic_link.rejected", undefined, { reason: result._tag === "Invalid" ? "invalid" : result._tag === "Handoff" ? "handoff_link" : "user_deleted" })])
    return result
  })
  if (r._tag !== "Consumed") return send(res, 401, errors.invalidLink) // (the bench's links are never handoffs nor deleted users')
  const u = selectUser.get(tenantId, r.userId)
  send(res, 200, userJson(u))
}

const totpRoute = /^\/v1\/users\/([^/?]+)\/totp\?payload=([^&]*)$/
const linkRoute = /^\/v1\/users\/email\?payload=([^&]*)$/
http
  .createServer((req, res) => {
    const link = linkRoute.exec(req.url)
    const m = link ? undefined : totpRoute.exec(req.url)
    if (!link && !m) return send(res, 404, errors.notFound)
    const bearer = bearerOf(req.headers.authorization)
    if (bearer === undefined) return send(res, 403, errors.missingToken)
    const token = selectToken.get(hashToken(bearer))
    if (!token) return send(res, 403, errors.invalidToken)
    const done = link ? verifyLink(res, token, decodeURIComponent(link[1])) : verifyTotp(res, token, decodeURIComponent(m[1]), decodeURIComponent(m[2]))
    done.catch((e) => internal(res, e))
  })
  .listen(Number(process.env.PORT), process.env.HOST ?? "127.0.0.1", () => process.stdout.write("listening\n"))
process.on("SIGTERM", () => { db.close(); process.exit(0) })
