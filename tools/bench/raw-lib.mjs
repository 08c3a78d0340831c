// What the raw baselines (baseline-raw.mjs, baseline-send.mjs, baseline-pg.mjs) share, written out
// with node:crypto and better-sqlite3 only, never through the core: the Sealer's AES-256-GCM format
// (crypto/Sealer.ts), the bearer token's hash (crypto/tokens.ts), the event ids and wire form of
// storage/events.ts, the default policies, the group commit of storage/sqlite/GroupCommit.ts, and
// the demo's JSON answers. The schema is the product's own: run.mjs migrates each baseline's
// database by one start of the demo bundle, whose bootstrap also writes the tenant and the access
// token (LAGRELLO_ACCESS_TOKEN) that the baselines look up per request.
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hash, hkdfSync, randomBytes } from "node:crypto"

// --- sealing (Sealer.ts): `v1.<keyId>.<iv>.<ciphertext+tag>`, AAD `v1.<keyId>.<associatedData>`
export const makeSealer = (keyBase64) => {
  const raw = Buffer.from(keyBase64, "base64")
  if (raw.length !== 32) throw new Error("LAGRELLO_ENCRYPTION_KEY must be the base64 of 32 bytes")
  const keyId = "k1" // a plain base64 key is the keyring { k1 }, as parseKeyring reads it
  const key = createSecretKey(raw)
  const hashKey = createSecretKey(Buffer.from(hkdfSync("sha256", raw, Buffer.alloc(0), "lagrello/keyed-hash/v1", 32)))
  const aad = (ad) => Buffer.from(`v1.${keyId}.${ad}`, "utf8")
  const strict = (s) => {
    if (!/^[A-Za-z0-9_-]*$/.test(s)) return undefined
    const b = Buffer.from(s, "base64url")
    return b.toString("base64url") === s ? b : undefined
  }
  return {
    keyId,
    seal: (plaintext, ad) => {
      const iv = randomBytes(12)
      const c = createCipheriv("aes-256-gcm", key, iv, { authTagLength: 16 })
      c.setAAD(aad(ad))
      const data = Buffer.concat([c.update(plaintext, "utf8"), c.final(), c.getAuthTag()])
      return `v1.${keyId}.${iv.toString("base64url")}.${data.toString("base64url")}`
    },
    // Throws on anything wrong (the core answers 503 then; the bench never gets there).
    open: (sealed, ad) => {
      const parts = sealed.split(".")
      if (parts.length !== 4 || parts[0] !== "v1" || parts[1] !== keyId) throw new Error("bad sealed value")
      const iv = strict(parts[2]), data = strict(parts[3])
      if (!iv || iv.length !== 12 || !data || data.length < 16) throw new Error("bad sealed value")
      const d = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: 16 })
      d.setAAD(aad(ad))
      d.setAuthTag(data.subarray(data.length - 16))
      return Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]).toString("utf8")
    },
    keyedHash: (data) => ({ keyId, hash: createHmac("sha256", hashKey).update(data, "utf8").digest("base64url") })
  }
}

// --- tokens (tokens.ts)
export const hashToken = (token) => hash("sha256", token, "base64url")
export const bearerOf = (authorization) => /^Bearer[ ]+([\x21-\x7E]+)[ ]*$/i.exec(authorization ?? "")?.[1]
export const WELL_FORMED_TOKEN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/

// --- the default policies (domain/policies.ts) in milliseconds, and maxLockoutLevel (lockout.ts)
export const policy = { limit: 10, backoff: 900_000, maxBackoff: 86_400_000, window: 86_400_000, lifetime: 900_000,
  sendLimit: 5, sendWindow: 600_000, linkLifetime: 600_000, codeLength: 6 }
policy.maxLevel = (() => { let level = 1; while (policy.backoff * 2 ** (level - 1) < policy.maxBackoff) level++; return level })()
// The end of a lock-out (lockout.ts lockoutEnd), for Retry-After.
export const lockoutEnd = (row) =>
  row.locked_until ?? (row.failures >= policy.limit && row.last_failure_at != null ? row.last_failure_at + policy.backoff : undefined)
export const retryAfterSeconds = (retryAt, now) => Math.max(1, Math.ceil((retryAt - now) / 1000))

// --- events (storage/events.ts): ids, wire form
const alphabet = "0123456789abcdefghijklmnopqrstuv"
const base32 = (n, width) => { let out = ""; for (let i = 0; i < width; i++) { out = alphabet[n % 32] + out; n = Math.floor(n / 32) } return out }
let lastMillis = 0, counter = 0
export const newEventId = (occurredAt) => {
  const millis = Math.max(Math.floor(occurredAt), lastMillis, 0)
  if (millis === lastMillis) { counter++; if (counter >= 32 ** 4) { lastMillis = millis + 1; counter = 0 } } else { lastMillis = millis; counter = 0 }
  let r = randomBytes(8).readBigUInt64BE() >> 4n, tail = ""
  for (let i = 0; i < 12; i++) { tail = alphabet[Number(r % 32n)] + tail; r /= 32n }
  return `evt_${base32(lastMillis, 10)}${base32(counter, 4)}${tail}`
}
export const event = (tenantId, occurredAt, actor, type, userId, data = {}) => ({ type, tenantId, occurredAt, userId, actor, data })
export const eventJson = (e) => ({ id: e.id, type: e.type, tenantId: e.tenantId, occurredAt: new Date(e.occurredAt).toISOString(),
  ...(e.userId === undefined ? {} : { userId: e.userId }), ...(e.actor === undefined ? {} : { actor: e.actor }), data: e.data })
// SqliteStorage's insertEvents: the event row and its deliveries to subscribed webhooks (none here).
export const sqliteEvents = (db) => {
  const insertEvent = db.prepare("INSERT INTO events (id, tenant_id, type, occurred_at, user_id, actor, data) VALUES (?, ?, ?, ?, ?, ?, ?)")
  const insertDeliveries = db.prepare(`INSERT INTO webhook_deliveries (webhook_id, event_id, tenant_id, event_type, payload, created_at, next_attempt_at)
     SELECT id, @eventId, tenant_id, @type, @payload, @at, @at FROM webhooks
     WHERE tenant_id = @tenantId AND enabled = 1 AND (instr(events, ',*,') > 0 OR instr(events, @pattern) > 0)`)
  return (list) => {
    for (const e of list) {
      const id = newEventId(e.occurredAt)
      insertEvent.run(id, e.tenantId, e.type, e.occurredAt, e.userId ?? null, e.actor ?? null, JSON.stringify(e.data))
      insertDeliveries.run({ eventId: id, type: e.type, payload: JSON.stringify(eventJson({ ...e, id })), at: e.occurredAt,
        tenantId: e.tenantId, pattern: `,${e.type},` })
    }
  }
}

// --- SQLite: the core's pragmas, and the group commit of GroupCommit.ts
export const openSqlite = (Database, path) => {
  const db = new Database(path, { timeout: 5000 })
  db.pragma("journal_mode = WAL")
  // FULL, as the core; SQLITE_SYNC=NORMAL for the informational variant without an fsync per commit.
  db.pragma(`synchronous = ${process.env.SQLITE_SYNC === "NORMAL" ? "NORMAL" : "FULL"}`)
  db.pragma("foreign_keys = ON")
  return db
}
// `write(fn)`: a promise of what fn returned. With group commit (the default, as the product):
// the writes of one event-loop turn run in one BEGIN IMMEDIATE transaction flushed on
// setImmediate, each in its own savepoint, settled after the COMMIT. GROUP_COMMIT=0: each write
// its own immediate transaction, one fsync per write (the old baseline).
export const makeWrite = (db, grouped = process.env.GROUP_COMMIT !== "0") => {
  if (!grouped) return (fn) => { try { return Promise.resolve(db.transaction(fn).immediate()) } catch (e) { return Promise.reject(e) } }
  let queue = [], scheduled = false
  const flush = () => {
    scheduled = false
    const jobs = queue
    queue = []
    const outcomes = []
    try {
      db.transaction(() => {
        for (const job of jobs) {
          try { outcomes.push({ ok: true, value: db.transaction(job.write)() }) } catch (error) { outcomes.push({ ok: false, error }) }
        }
      }).immediate()
    } catch (error) {
      for (const job of jobs) job.reject(error)
      return
    }
    jobs.forEach((job, i) => (outcomes[i].ok ? job.resolve(outcomes[i].value) : job.reject(outcomes[i].error)))
  }
  return (write) => new Promise((resolve, reject) => {
    queue.push({ write, resolve, reject })
    if (!scheduled) { scheduled = true; setImmediate(flush) }
  })
}

// --- answers, as the demo's (status and JSON body; Retry-After on 429)
export const send = (res, status, obj, headers = {}) => {
  if (obj === undefined) { res.writeHead(status, headers); return res.end() }
  const body = JSON.stringify(obj)
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body), ...headers })
  res.end(body)
}
export const userJson = (u) => (u.email === null ? { userId: u.user_id } : { userId: u.user_id, email: u.email })
export const errors = {
  missingToken: { errorType: "Forbidden", message: "An access token is required: send Authorization: Bearer <token>" },
  invalidToken: { errorType: "Forbidden", message: "The access token is not valid (unknown or revoked)" },
  wrongCode: { errorType: "Unauthorized", message: "The code is wrong, expired or already used" },
  locked: { errorType: "TooManyRequests", message: "Too many wrong codes; wait before trying again" },
  invalidLink: { errorType: "Unauthorized", message: "The magic link is not valid: it is unknown, expired or already used" },
  throttled: { errorType: "TooManyRequests", message: "Too many sign-in links were sent to this user recently; the last one is still valid" },
  notFound: { errorType: "NotFound", message: "no route" }
}
export const internal = (res, error) => {
  process.stderr.write(`${error?.stack ?? error}\n`)
  send(res, 500, { errorType: "Internal", message: "Internal error" })
}

// What every SQLite baseline starts with: the database (its schema made by the demo), the sealer,
// the group commit, the events writer, and the bearer's token row.
export const sqliteBaseline = (Database) => {
  const db = openSqlite(Database, process.env.DB_PATH)
  const selectToken = db.prepare("SELECT * FROM access_tokens WHERE secret_hash = ? AND revoked_at IS NULL")
  const boot = selectToken.get(hashToken(process.env.BEARER))
  if (!boot) throw new Error("BEARER is not an access token of DB_PATH (start the demo on it once first)")
  return { db, sealer: makeSealer(process.env.LAGRELLO_ENCRYPTION_KEY), write: makeWrite(db), insertEvents: sqliteEvents(db), selectToken, boot }
}
