/**
 * End to end: the built demo as a child process, with a real SMTP server, a temporary SQLite
 * database and a configured access token. The four operations as an application uses them, then
 * every error status of the reference in the v1 error shape, and what the logs (do not) contain.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createLagrelloClient, isLagrelloError } from "@lagrello/client"
import { base32Decode, totpAt } from "@lagrello/core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Answer, RunningDemo } from "./support/server.js"
import { call, startDemo } from "./support/server.js"
import type { SmtpSink } from "./support/smtp.js"
import { decodedBody, startSmtpSink } from "./support/smtp.js"

const accessToken = `e2e-admin-${"0123456789abcdef".repeat(2)}`
const encryptionKey = Buffer.alloc(32, 7).toString("base64")

let smtp: SmtpSink
let demo: RunningDemo
let dir: string
const secrets: Array<string> = [accessToken]

const api = (method: string, path: string, options: Parameters<typeof call>[3] = {}) =>
  call(demo.url, method, path, { token: accessToken, ...options })

const expectError = (answer: Answer, status: number, errorType: string) => {
  expect(answer.status, answer.text).toBe(status)
  expect(answer.headers.get("content-type")).toMatch(/^application\/json/)
  expect(answer.json).toEqual({ errorType, message: expect.any(String) })
  expect(Object.keys(answer.json as object)).toEqual(["errorType", "message"])
  expect((answer.json as { message: string }).message.length).toBeGreaterThan(0)
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lagrello-demo-e2e-"))
  smtp = await startSmtpSink()
  demo = await startDemo({
    DATABASE_URL: `sqlite:${join(dir, "e2e.db")}`,
    SMTP_URL: smtp.url,
    MAIL_FROM: "Demo Tests <demo@example.test>",
    LAGRELLO_ACCESS_TOKEN: accessToken,
    LAGRELLO_ENCRYPTION_KEY: encryptionKey,
    LAGRELLO_TENANT_NAME: "E2E Tenant"
  })
})

afterAll(async () => {
  await demo?.stop()
  await smtp?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe("the demo server, end to end", () => {
  it("serves /health and /openapi.json", async () => {
    const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
    const health = await call(demo.url, "GET", "/health")
    expect(health.status).toBe(200)
    expect(health.json).toEqual({ status: "ok", version })
    const live = await call(demo.url, "GET", "/health/live")
    expect(live.status).toBe(200)
    expect(live.headers.get("cache-control")).toBe("no-store")
    expect(live.json).toEqual({ status: "ok", version })
    const openapi = await call(demo.url, "GET", "/openapi.json")
    expect(openapi.status).toBe(200)
    expect(openapi.headers.get("content-type")).toMatch(/^application\/json/)
    const document = openapi.json as { openapi: string; paths: Record<string, unknown>; servers: Array<{ url: string }> }
    expect(document.openapi).toMatch(/^3\./)
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(["/v1/users", "/v1/users/{userId}", "/v1/users/{userId}/email", "/v1/users/email", "/v1/users/{userId}/totp", "/v1/tenant", "/v1/tokens"])
    )
    expect(document.servers).toEqual([{ url: demo.url }])
  })

  it("has no development mailbox when an SMTP server is configured", async () => {
    expectError(await call(demo.url, "GET", "/dev/mailbox"), 404, "NotFound")
  })

  it("runs the four operations: magic link by real mail, then TOTP", async () => {
    // Create the user, set the tenant's callback URL.
    const created = await api("POST", "/v1/users", { body: { userId: "alice", email: "alice@example.test" } })
    expect(created.status, created.text).toBe(201)
    expect(created.json).toEqual({ userId: "alice", email: "alice@example.test" })
    const tenant = await api("PATCH", "/v1/tenant", { body: { callbackUrl: "https://app.example.test/magic/{}" } })
    expect(tenant.status, tenant.text).toBe(200)
    expect(tenant.json).toMatchObject({ tenantName: "E2E Tenant", callbackUrl: "https://app.example.test/magic/{}", activated: true })

    // Send the link; it arrives over SMTP.
    const sent = await api("POST", "/v1/users/alice/email", { contentType: "application/json" })
    expect(sent.status, sent.text).toBe(204)
    expect(sent.text).toBe("")
    const mail = await smtp.waitFor("alice@example.test")
    expect(mail.from).toBe("demo@example.test")
    const token = /https:\/\/app\.example\.test\/magic\/([A-Za-z0-9_-]{43})/.exec(decodedBody(mail.raw))?.[1]
    expect(token).toBeDefined()
    secrets.push(token!)

    // Exchange it once.
    const verified = await api("GET", `/v1/users/email?payload=${token}`)
    expect(verified.status, verified.text).toBe(200)
    expect(verified.json).toEqual({ userId: "alice", email: "alice@example.test" })
    expectError(await api("GET", `/v1/users/email?payload=${token}`), 401, "Unauthorized")

    // Enable TOTP, verify a code, refuse its replay, disable.
    const enabled = await api("POST", "/v1/users/alice/totp", { body: { enable: true } })
    expect(enabled.status, enabled.text).toBe(200)
    const { qrImage, secretKey } = enabled.json as { secretKey: string; qrImage: string }
    expect(Object.keys(enabled.json as object).sort()).toEqual(["qrImage", "secretKey"])
    expect(qrImage).toMatch(/^data:image\/png;base64,/)
    secrets.push(secretKey)
    const code = totpAt(base32Decode(secretKey)!, Date.now())
    const ok = await api("GET", `/v1/users/alice/totp?payload=${code}`)
    expect(ok.status, ok.text).toBe(200)
    expect(ok.json).toEqual({ userId: "alice", email: "alice@example.test" })
    expectError(await api("GET", `/v1/users/alice/totp?payload=${code}`), 401, "Unauthorized")
    const disabled = await api("POST", "/v1/users/alice/totp", { body: { enable: false } })
    expect(disabled.status, disabled.text).toBe(204)
    expect(disabled.text).toBe("")
    expectError(await api("GET", `/v1/users/alice/totp?payload=${totpAt(base32Decode(secretKey)!, Date.now() + 30_000)}`), 401, "Unauthorized")
  })

  it("answers every error status of the reference as {errorType, message} JSON", async () => {
    // 400: a body that does not decode, a user without email, a callback URL without {}.
    expectError(await api("POST", "/v1/users", { raw: "{not json" }), 400, "InvalidPayload")
    expectError(await api("POST", "/v1/users", { body: { userId: 42 } }), 400, "InvalidPayload")
    expectError(await api("POST", "/v1/users/alice/totp", { body: { enable: "yes" } }), 400, "InvalidPayload")
    expectError(await api("PATCH", "/v1/tenant", { body: { callbackUrl: "https://no-placeholder.example.test/" } }), 400, "InvalidPayload")
    expect((await api("POST", "/v1/users", { body: { userId: "no-mail" } })).status).toBe(201)
    expectError(await api("POST", "/v1/users/no-mail/email"), 400, "InvalidPayload")
    // 401: wrong link token and TOTP code.
    expectError(await api("GET", `/v1/users/email?payload=${"A".repeat(43)}`), 401, "Unauthorized")
    expectError(await api("GET", "/v1/users/alice/totp?payload=000000"), 401, "Unauthorized")
    // 403: no token, a wrong token, a token without the permission.
    expectError(await call(demo.url, "GET", "/v1/users/alice"), 403, "Forbidden")
    expectError(await api("GET", "/v1/users/alice", { token: `${accessToken}x` }), 403, "Forbidden")
    const reader = await api("POST", "/v1/tokens", { body: { tokenName: "reader", permissions: ["READ"] } })
    expect(reader.status, reader.text).toBe(200)
    const readerToken = (reader.json as { tokenKey: string }).tokenKey
    secrets.push(readerToken)
    expect((await api("GET", "/v1/users/alice", { token: readerToken })).status).toBe(200)
    expectError(await api("POST", "/v1/users/alice/email", { token: readerToken }), 403, "Forbidden")
    // 404: unknown user, billing endpoints.
    expectError(await api("GET", "/v1/users/nobody"), 404, "NotFound")
    expectError(await api("POST", "/v1/users/nobody/email"), 404, "NotFound")
    expectError(await api("POST", "/v1/tenant/activate"), 404, "NotFound")
    // 409: the user exists.
    expectError(await api("POST", "/v1/users", { body: { userId: "alice" } }), 409, "Conflict")
    // 429: the send throttle (5 per 10 minutes; alice had one link already).
    for (let i = 0; i < 4; i++) expect((await api("POST", "/v1/users/alice/email")).status).toBe(204)
    const throttled = await api("POST", "/v1/users/alice/email")
    expectError(throttled, 429, "TooManyRequests")
    expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(0)
    // 429: the TOTP failure limit (10 wrong codes), then even a right code is refused.
    expect((await api("POST", "/v1/users", { body: { userId: "guessed" } })).status).toBe(201)
    const { secretKey } = (await api("POST", "/v1/users/guessed/totp", { body: { enable: true } })).json as { secretKey: string }
    secrets.push(secretKey)
    const right = totpAt(base32Decode(secretKey)!, Date.now())
    const wrong = right === "000000" ? "111111" : "000000"
    for (let i = 0; i < 10; i++) expectError(await api("GET", `/v1/users/guessed/totp?payload=${wrong}`), 401, "Unauthorized")
    const locked = await api("GET", `/v1/users/guessed/totp?payload=${right}`)
    expectError(locked, 429, "TooManyRequests")
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0)
  })

  it("works with the typed client (@lagrello/client)", async () => {
    const client = createLagrelloClient({ baseUrl: demo.url, accessToken, retry: false })
    try {
      expect(await client.users.create({ userId: "carol", email: "carol@example.test" })).toEqual({
        userId: "carol",
        email: "carol@example.test"
      })
      await client.sendMagicLink("carol")
      const mail = await smtp.waitFor("carol@example.test")
      const token = /\/magic\/([A-Za-z0-9_-]{43})/.exec(decodedBody(mail.raw))![1]!
      secrets.push(token)
      expect(await client.verifyMagicLink(token)).toEqual({ userId: "carol", email: "carol@example.test" })
      const replay = await client.verifyMagicLink(token).catch((e: unknown) => e)
      expect(isLagrelloError(replay) && replay.errorType).toBe("Unauthorized")
      const { secretKey } = await client.enableTotp("carol")
      secrets.push(secretKey)
      expect(await client.verifyTotp("carol", totpAt(base32Decode(secretKey)!, Date.now()))).toEqual({
        userId: "carol",
        email: "carol@example.test"
      })
      await client.disableTotp("carol")
      await client.users.delete("carol")
      const gone = await client.users.get("carol").catch((e: unknown) => e)
      expect(isLagrelloError(gone) && gone.errorType).toBe("NotFound")
    } finally {
      await client.dispose()
    }
  })

  it("logs one JSON line per request with its route pattern, and never a secret", async () => {
    await api("GET", `/v1/users/email?payload=${"B".repeat(43)}`)
    await new Promise((r) => setTimeout(r, 100))
    const lines = demo.stdout().trim().split("\n")
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    const requests = records.filter((r) => r.msg === "request")
    expect(requests.length).toBeGreaterThan(20)
    for (const r of requests) {
      expect(Object.keys(r).sort()).toEqual(["durationMs", "level", "method", "msg", "route", "status", "time"])
      expect(typeof r.durationMs).toBe("number")
    }
    expect(requests).toContainEqual(expect.objectContaining({ method: "GET", route: "/v1/users/email", status: 401 }))
    expect(requests).toContainEqual(expect.objectContaining({ method: "POST", route: "/v1/users/:userId/email", status: 429 }))
    const all = demo.stdout() + demo.stderr()
    for (const secret of secrets) expect(all).not.toContain(secret)
    expect(all).not.toContain("payload=")
    expect(all).not.toContain("alice@example.test")
    expect(all.toLowerCase()).not.toContain("bearer ")
  })
})
