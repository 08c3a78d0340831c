// Baseline: a hand-written TOTP-verify handler on raw node:http + better-sqlite3 doing the demo's
// database work: the attempt-counting UPDATE ... RETURNING (same statement and pragmas as the
// core's SqliteStorage), an HMAC-SHA1 TOTP check (node:crypto, window 1 like verifyTotp), then the
// accept UPDATE. SQLITE_SYNC=NORMAL for the variant without an fsync per commit. No access-token check, no secret sealing (the demo does both). Seeds USERS users
// with the secret JSON in SEED_FILE: [{userId, secret(base32)}]. GET /v1/users/:id/totp?payload=CODE
import { readFileSync } from "node:fs"
import http from "node:http"
import Database from "better-sqlite3"
import { b32decode, hotp } from "./otp.mjs"

const db = new Database(process.env.DB_PATH)
db.pragma("journal_mode = WAL")
db.pragma(`synchronous = ${process.env.SQLITE_SYNC === "NORMAL" ? "NORMAL" : "FULL"}`) // FULL: as the core
db.exec(`CREATE TABLE IF NOT EXISTS users (tenant_id TEXT NOT NULL, user_id TEXT NOT NULL, email TEXT, PRIMARY KEY (tenant_id, user_id)) STRICT;
CREATE TABLE IF NOT EXISTS user_totp (tenant_id TEXT NOT NULL, user_id TEXT NOT NULL, confirmed_secret TEXT, pending_secret TEXT,
  last_step INTEGER, failures INTEGER NOT NULL DEFAULT 0, last_failure_at INTEGER, PRIMARY KEY (tenant_id, user_id)) STRICT;`)
const seed = JSON.parse(readFileSync(process.env.SEED_FILE, "utf8"))
const insU = db.prepare("INSERT OR IGNORE INTO users VALUES ('t', ?, ?)")
const insT = db.prepare("INSERT OR IGNORE INTO user_totp (tenant_id, user_id, confirmed_secret) VALUES ('t', ?, ?)")
db.transaction(() => { for (const u of seed) { insU.run(u.userId, `${u.userId}@example.com`); insT.run(u.userId, u.secret) } })()

const countAttempt = db.prepare(`UPDATE user_totp
     SET failures = CASE WHEN failures >= @limit THEN 1 ELSE failures + 1 END, last_failure_at = @now
     WHERE tenant_id = @tenantId AND user_id = @userId
       AND NOT (failures >= @limit AND last_failure_at > @now - @backoff)
     RETURNING *`)
const accept = db.prepare(`UPDATE user_totp SET last_step = @step, failures = 0, last_failure_at = NULL
     WHERE tenant_id = @tenantId AND user_id = @userId AND confirmed_secret = @secret
       AND (last_step IS NULL OR last_step < @step)`)
const selectUser = db.prepare("SELECT user_id, email FROM users WHERE tenant_id = ? AND user_id = ?")
const send = (res, status, obj) => {
  const body = JSON.stringify(obj)
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) })
  res.end(body)
}
const wrong = { errorType: "Unauthorized", message: "The code is wrong, expired or already used" }
const route = /^\/v1\/users\/([^/?]+)\/totp\?payload=([0-9]{6})$/
http
  .createServer((req, res) => {
    const m = route.exec(req.url)
    if (!m) return send(res, 404, { errorType: "NotFound", message: "no route" })
    const userId = decodeURIComponent(m[1])
    const now = Date.now()
    const row = countAttempt.get({ tenantId: "t", userId, now, limit: 10, backoff: 900_000 })
    if (!row) return send(res, 429, { errorType: "TooManyRequests", message: "Too many wrong codes" })
    const key = b32decode(row.confirmed_secret)
    const T = Math.floor(now / 30_000)
    for (const step of [T, T - 1, T + 1]) {
      if (hotp(key, step) !== m[2]) continue
      if (accept.run({ tenantId: "t", userId, secret: row.confirmed_secret, step }).changes !== 1) return send(res, 401, wrong)
      const u = selectUser.get("t", userId)
      return send(res, 200, { userId: u.user_id, email: u.email })
    }
    send(res, 401, wrong)
  })
  .listen(Number(process.env.PORT), process.env.HOST ?? "127.0.0.1", () => process.stdout.write("listening\n"))
process.on("SIGTERM", () => { db.close(); process.exit(0) })
