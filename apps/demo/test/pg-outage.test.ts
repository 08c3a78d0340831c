/**
 * PostgreSQL going away under a running demo (SPEC 4.4, and the storage's timeouts): the demo's
 * DATABASE_URL goes through a TCP proxy. Cut (connections closed, new ones refused) or blackholed
 * (nothing forwarded, nothing closed), the API answers 503 `{errorType, message}` within bounded
 * time instead of hanging, /health answers not ready, a magic link is not used up by the failed
 * attempt, and the demo recovers by itself once the network is back.
 *
 * The demo uses the storage's default timeouts (packages/core/src/storage/pg/PgStorage.ts):
 * connect 3 s, statement 5 s, client read timeout 5 s + 2 s; /health gives up after 2 s.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import type { RunningDemo } from "./support/server.js"
import { call, startDemo } from "./support/server.js"
import type { SmtpSink } from "./support/smtp.js"
import { decodedBody, startSmtpSink } from "./support/smtp.js"
import { adminUrl, describePostgres } from "./support/postgres.js"
import type { TcpProxy } from "./support/proxy.js"
import { startProxy } from "./support/proxy.js"
import { eventually, expectError, magicTokenOf } from "./support/poll.js"

const accessToken = `outage-admin-${"0123456789abcdef".repeat(2)}`
const encryptionKey = Buffer.alloc(32, 13).toString("base64")

/** A cut network must be noticed at once; a blackholed one after the read timeout (7 s). */
const cutBoundMillis = 10_000
const blackholeBoundMillis = 15_000

const timed = async <A>(f: () => Promise<A>) => {
  const started = performance.now()
  const result = await f()
  return { result, millis: performance.now() - started }
}

/** A 503 `Unavailable` in the v1 shape, answered within `boundMillis`. */
const expectUnavailableWithin = (answer: { result: Parameters<typeof expectError>[0]; millis: number }, boundMillis: number) => {
  expectError(answer.result, 503, "Unavailable")
  expect(answer.millis).toBeLessThan(boundMillis)
}

describePostgres("the demo while PostgreSQL is unreachable", (db) => {
  let smtp: SmtpSink
  let proxy: TcpProxy
  let demo: RunningDemo

  const api = (method: string, path: string, options: Parameters<typeof call>[3] = {}) =>
    call(demo.url, method, path, { token: accessToken, ...options })

  /** Waits until the demo answers again by itself (no restart). */
  const recovered = () =>
    eventually(
      "the demo answers again",
      async () => (await api("GET", "/v1/users/alice")).status === 200 && (await call(demo.url, "GET", "/health")).status === 200,
      20_000,
      200
    )

  /** Sends a link to alice (while the database is reachable) and reads it from the sink. */
  const sendLink = async () => {
    const before = smtp.received().length
    const sent = await api("POST", "/v1/users/alice/email")
    expect(sent.status, sent.text).toBe(204)
    return magicTokenOf(decodedBody((await smtp.waitFor("alice@example.test", { skip: before })).raw))
  }

  beforeAll(async () => {
    smtp = await startSmtpSink()
    const server = new URL(adminUrl)
    proxy = await startProxy({ host: server.hostname, port: Number(server.port || 5432) })
    const url = new URL(db.url)
    url.hostname = "127.0.0.1"
    url.port = String(proxy.port)
    demo = await startDemo(
      {
        DATABASE_URL: url.toString(),
        SMTP_URL: smtp.url,
        LAGRELLO_ACCESS_TOKEN: accessToken,
        LAGRELLO_ENCRYPTION_KEY: encryptionKey,
        LAGRELLO_CALLBACK_URL: "https://app.example.test/magic/{}"
      },
      { timeoutMillis: 30_000 }
    )
    const created = await api("POST", "/v1/users", { body: { userId: "alice", email: "alice@example.test" } })
    expect(created.status, created.text).toBe(201)
  })

  afterAll(async () => {
    proxy?.restore()
    await demo?.stop()
    await proxy?.close()
    await smtp?.close()
  })

  it("cut: answers 503 at once, /health is not ready, and it recovers by itself", async () => {
    const token = await sendLink()
    proxy.cut()

    const read = await timed(() => api("GET", "/v1/users/alice"))
    expectUnavailableWithin(read, cutBoundMillis)
    const verify = await timed(() => api("GET", `/v1/users/email?payload=${token}`))
    expectUnavailableWithin(verify, cutBoundMillis)
    const totp = await timed(() => api("GET", "/v1/users/alice/totp?payload=123456"))
    expectUnavailableWithin(totp, cutBoundMillis)
    const send = await timed(() => api("POST", "/v1/users/alice/email"))
    expectUnavailableWithin(send, cutBoundMillis)
    const health = await timed(() => call(demo.url, "GET", "/health"))
    expectUnavailableWithin(health, cutBoundMillis)
    // Liveness does not ask the database: the process is alive, do not restart it.
    const live = await call(demo.url, "GET", "/health/live")
    expect(live.status, live.text).toBe(200)
    expect(live.json).toEqual({ status: "ok", version: expect.stringMatching(/^\d+\.\d+\.\d+/) })

    proxy.restore()
    await recovered()
    // The 503 did not use the link up: it signs in once now.
    const after = await api("GET", `/v1/users/email?payload=${token}`)
    expect(after.status, after.text).toBe(200)
    expect(after.json).toEqual({ userId: "alice", email: "alice@example.test" })
    expectError(await api("GET", `/v1/users/email?payload=${token}`), 401, "Unauthorized")
    expect(demo.child.exitCode).toBeNull()
  })

  it("blackhole: answers 503 after the timeouts instead of hanging, and recovers by itself", async () => {
    const token = await sendLink()
    // Open connections in the pool first, so that the requests below meet both kinds: statements
    // sent on an open connection that never answers (the read timeout) and new connections that
    // never complete (the connect timeout).
    for (const answer of await Promise.all(Array.from({ length: 8 }, () => api("GET", "/v1/users/alice")))) {
      expect(answer.status).toBe(200)
    }
    proxy.pause()

    // Concurrently: what the pool's open connections and new ones do when no packet comes back.
    const [read, verify, health] = await Promise.all([
      timed(() => api("GET", "/v1/users/alice")),
      timed(() => api("GET", `/v1/users/email?payload=${token}`)),
      timed(() => call(demo.url, "GET", "/health"))
    ])
    expectUnavailableWithin(read, blackholeBoundMillis)
    expectUnavailableWithin(verify, blackholeBoundMillis)
    expectError(health.result, 503, "Unavailable")
    // /health gives up after its own 2 s (apps/demo/src/http/health.controller.ts). Soft: the
    // recovery below is checked even when this fails.
    expect.soft(health.millis, "/health answers within its 2 s timeout (and some margin)").toBeLessThan(4_000)
    // Still blackholed: later requests are refused within the bound too.
    const again = await timed(() => api("GET", "/v1/users/alice"))
    expectUnavailableWithin(again, blackholeBoundMillis)

    proxy.restore()
    await recovered()
    const after = await api("GET", `/v1/users/email?payload=${token}`)
    expect(after.status, after.text).toBe(200)
    expectError(await api("GET", `/v1/users/email?payload=${token}`), 401, "Unauthorized")
    expect(demo.child.exitCode).toBeNull()
  }, 60_000)
})
