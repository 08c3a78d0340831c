// Baseline: a hand-written send magic link (POST /v1/users/:id/email) on raw node:http +
// better-sqlite3, doing the demo's work for it (MagicLink.issueChallenge and SqliteStorage's
// issueMagicLink) with nothing of the core (raw-lib.mjs): the bearer token's SHA-256 and its
// SELECT; the user's and the tenant's SELECTs; a new 32-byte link token and its SHA-256, a message
// id, a 6-digit code; the mail written as magicLinkMessage writes it, sealed (AES-256-GCM, AAD the
// message id) as the outbox stores it; the code's keyed hash (HMAC-SHA-256 under the HKDF-derived
// key); then in one write: the user re-read (address unchanged), the throttle count (the user's
// links of the last 10 minutes; 5 or more: 429 with Retry-After, nothing written), the earlier
// links revoked, their pending messages superseded, the link row, the outbox row (seq the next
// one) and the magic_link.sent event (204). Group commit as the product's (GROUP_COMMIT=0: a
// transaction and fsync per send); synchronous = FULL. The demo also delivers the messages (its
// outbox worker, to its development mailbox); this baseline only writes them.
// Env: DB_PATH (migrated by the demo, with its tenant and BEARER's token), BEARER,
// LAGRELLO_ENCRYPTION_KEY, SEED_FILE: JSON {sendUsers: [userId]}.
import { randomBytes, randomInt, randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import http from "node:http"
import Database from "better-sqlite3"
import { bearerOf, errors, event, hashToken, internal, policy, retryAfterSeconds, send, sqliteBaseline } from "./raw-lib.mjs"

const { boot, db, insertEvents, sealer, selectToken, write } = sqliteBaseline(Database)

const seed = JSON.parse(readFileSync(process.env.SEED_FILE, "utf8"))
db.transaction(() => {
  const insU = db.prepare("INSERT INTO users (tenant_id, user_id, email, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
  for (const u of seed.sendUsers ?? []) insU.run(boot.tenant_id, u, `${u}@example.com`, Date.now())
})()

// --- the core's statements (SqliteStorage.ts)
const selectUser = db.prepare("SELECT user_id, email FROM users WHERE tenant_id = ? AND user_id = ?")
const selectTenant = db.prepare("SELECT * FROM tenants WHERE tenant_id = ?")
const recentLinks = db.prepare(`SELECT created_at FROM magic_links WHERE tenant_id = ? AND user_id = ? AND created_at > ?
     ORDER BY created_at`)
const revokeLinks = db.prepare(`UPDATE magic_links SET revoked = ?
     WHERE tenant_id = ? AND user_id = ? AND consumed_at IS NULL AND revoked IS NULL`)
const supersedeMessages = db.prepare(`UPDATE outbox SET status = 'superseded'
     WHERE tenant_id = ? AND user_id = ? AND status = 'pending' AND lease_until <= ?`)
const insertLink = db.prepare(`INSERT INTO magic_links (token_hash, tenant_id, user_id, created_at, expires_at, code_hash, code_key_id, handoff)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
const insertMessage = db.prepare(`INSERT INTO outbox (id, tenant_id, user_id, seq, sealed, created_at, expires_at, next_attempt_at)
     VALUES (?, ?, ?, coalesce((SELECT max(seq) FROM outbox), 0) + 1, ?, ?, ?, ?)`)

// --- the mail (mail/Message.ts magicLinkMessage, not a handoff's)
const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c])
const magicLinkMessage = ({ code, lifetimeMinutes, link, tenantName, to }) => {
  const minutes = `${lifetimeMinutes} minute${lifetimeMinutes === 1 ? "" : "s"}`
  const intro = `Use this link to sign in to ${tenantName}:`
  const codeHint = "where you asked to sign in"
  const validity = `The link and the code work once, together, and expire in ${minutes}.`
  const ignore = "If you did not ask for it, ignore this message."
  return {
    to,
    subject: `Your sign-in link for ${tenantName}`,
    text: [intro, "", link, "", `Or enter this code: ${code}`, `(Type it ${codeHint}.)`, "", `${validity} ${ignore}`].join("\n"),
    html: [`<p>${escapeHtml(intro)}</p>`, `<p><a href="${escapeHtml(link)}">Sign in to ${escapeHtml(tenantName)}</a></p>`,
      `<p>Or enter this code ${escapeHtml(codeHint)}:</p>`,
      `<p style="font-size:1.5em;font-family:monospace;letter-spacing:.2em"><strong>${escapeHtml(code)}</strong></p>`,
      `<p>${escapeHtml(validity)} ${escapeHtml(ignore)}</p>`].join("\n")
  }
}

const sendLink = async (res, token, userId) => {
  const tenantId = token.tenant_id
  const u = selectUser.get(tenantId, userId)
  if (!u) return send(res, 404, { errorType: "NotFound", message: `User ${userId} does not exist` })
  if (u.email === null) return send(res, 400, { errorType: "InvalidPayload", message: "The user has no e-mail address; set one with PATCH /v1/users/{userId}" })
  const tenant = selectTenant.get(tenantId)
  const linkToken = randomBytes(32).toString("base64url")
  const tokenHash = hashToken(linkToken)
  const now = Date.now()
  const messageId = randomUUID()
  const code = String(randomInt(10 ** policy.codeLength)).padStart(policy.codeLength, "0")
  const message = magicLinkMessage({ to: u.email, link: tenant.callback_url.replaceAll("{}", linkToken), tenantName: tenant.name,
    lifetimeMinutes: Math.max(1, Math.round(policy.linkLifetime / 60_000)), code })
  const sealed = sealer.seal(JSON.stringify(message), messageId)
  const codeHash = sealer.keyedHash(`email-code\u0000${tokenHash}\u0000${code}`)
  const expiresAt = now + policy.linkLifetime
  const r = await write(() => {
    if (selectUser.get(tenantId, userId)?.email !== u.email) return { _tag: "UserChanged" }
    const recent = recentLinks.all(tenantId, userId, now - policy.sendWindow)
    if (recent.length >= policy.sendLimit) return { _tag: "Throttled", retryAt: recent[recent.length - policy.sendLimit].created_at + policy.sendWindow }
    revokeLinks.run("replaced", tenantId, userId)
    supersedeMessages.run(tenantId, userId, now)
    insertLink.run(tokenHash, tenantId, userId, now, expiresAt, codeHash.hash, codeHash.keyId, 0)
    insertMessage.run(messageId, tenantId, userId, sealed, now, expiresAt, now)
    insertEvents([event(tenantId, now, token.token_id, "magic_link.sent", userId, { handoff: false, code: true })])
    return { _tag: "Issued" }
  })
  if (r._tag === "Throttled") return send(res, 429, errors.throttled, { "retry-after": String(retryAfterSeconds(r.retryAt, now)) })
  if (r._tag === "UserChanged") return send(res, 404, { errorType: "NotFound", message: `User ${userId} does not exist` })
  send(res, 204)
}

const route = /^\/v1\/users\/([^/?]+)\/email$/
http
  .createServer((req, res) => {
    const m = req.method === "POST" ? route.exec(req.url) : null
    if (!m) return send(res, 404, errors.notFound)
    const bearer = bearerOf(req.headers.authorization)
    if (bearer === undefined) return send(res, 403, errors.missingToken)
    const token = selectToken.get(hashToken(bearer))
    if (!token) return send(res, 403, errors.invalidToken)
    // The request's body (none) is read to its end first, as a framework does.
    req.resume()
    req.on("end", () => sendLink(res, token, decodeURIComponent(m[1])).catch((e) => internal(res, e)))
  })
  .listen(Number(process.env.PORT), process.env.HOST ?? "127.0.0.1", () => process.stdout.write("listening\n"))
process.on("SIGTERM", () => { db.close(); process.exit(0) })
