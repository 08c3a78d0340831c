// Baseline for reads: a hand-written GET /v1/users/:userId on raw node:http + better-sqlite3 doing
// the demo's work for it: the bearer token's SHA-256 and its SELECT (the core's statement), then
// the user's SELECT, answered as the User JSON. Nothing is written, so no fsync: it is the baseline
// of a read. Seeds USERS users and the token BEARER in a new database DB_PATH.
import http from "node:http"
import Database from "better-sqlite3"
import { hashToken } from "./raw-lib.mjs"

const db = new Database(process.env.DB_PATH)
db.pragma("journal_mode = WAL")
db.pragma("synchronous = FULL")
db.exec(`CREATE TABLE IF NOT EXISTS access_tokens (token_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
  secret_hash TEXT NOT NULL, permissions TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS access_tokens_by_hash ON access_tokens (secret_hash);
CREATE TABLE IF NOT EXISTS users (tenant_id TEXT NOT NULL, user_id TEXT NOT NULL, email TEXT, created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, user_id)) STRICT;`)
const users = Number(process.env.USERS ?? 3000)
db.transaction(() => {
  db.prepare("INSERT OR IGNORE INTO access_tokens VALUES ('k', 't', 'bench', ?, 'READ,WRITE,ADMIN', 'bootstrap', 0, NULL)").run(hashToken(process.env.BEARER))
  const insert = db.prepare("INSERT OR IGNORE INTO users VALUES ('t', ?, ?, 0)")
  for (let i = 0; i < users; i++) insert.run(`u${i}`, `u${i}@example.com`)
})()

const selectToken = db.prepare("SELECT * FROM access_tokens WHERE secret_hash = ? AND revoked_at IS NULL")
const selectUser = db.prepare("SELECT user_id, email FROM users WHERE tenant_id = ? AND user_id = ?")
const send = (res, status, obj) => {
  const body = JSON.stringify(obj)
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) })
  res.end(body)
}
const route = /^\/v1\/users\/([^/?]+)$/
http
  .createServer((req, res) => {
    const m = route.exec(req.url)
    if (!m) return send(res, 404, { errorType: "NotFound", message: "no route" })
    const bearer = /^Bearer ([\x21-\x7E]+)$/i.exec(req.headers.authorization ?? "")
    const token = bearer && selectToken.get(hashToken(bearer[1]))
    if (!token) return send(res, 403, { errorType: "Forbidden", message: "no" })
    const u = selectUser.get(token.tenant_id, decodeURIComponent(m[1]))
    if (!u) return send(res, 404, { errorType: "NotFound", message: "no user" })
    send(res, 200, u.email === null ? { userId: u.user_id } : { userId: u.user_id, email: u.email })
  })
  .listen(Number(process.env.PORT), process.env.HOST ?? "127.0.0.1", () => process.stdout.write("listening\n"))
process.on("SIGTERM", () => { db.close(); process.exit(0) })
