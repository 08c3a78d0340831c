/**
 * Malformed requests, on each adapter: every one gets a 4xx `{errorType, message}` JSON answer,
 * never a 5xx, and the server stays healthy.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Answer, RunningDemo } from "./support/server.js"
import { call, startDemo } from "./support/server.js"

const accessToken = `fuzz-admin-${"fedcba9876543210".repeat(2)}`

/** A raw request (no URL normalisation by the client), answered as text. */
const raw = (
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch {
          json = undefined
        }
        const h = new Headers()
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v)
        resolve({ status: res.statusCode ?? 0, headers: h, text, json })
      })
    })
    req.on("error", reject)
    if (body !== undefined) req.end(body)
    else req.end()
  })

const expectClientError = (answer: Answer, what: string) => {
  expect(answer.status, `${what}: ${answer.text}`).toBeGreaterThanOrEqual(400)
  expect(answer.status, `${what}: ${answer.text}`).toBeLessThan(500)
  expect(answer.headers.get("content-type"), what).toMatch(/^application\/json/)
  expect(answer.json, what).toEqual({ errorType: expect.any(String), message: expect.any(String) })
  expect(Object.keys(answer.json as object), what).toEqual(["errorType", "message"])
}

describe.each(["fastify", "express"] as const)("malformed requests on %s", (adapter) => {
  let demo: RunningDemo
  let dir: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `lagrello-demo-fuzz-${adapter}-`))
    demo = await startDemo({
      DATABASE_URL: `sqlite:${join(dir, "fuzz.db")}`,
      LAGRELLO_ACCESS_TOKEN: accessToken,
      LAGRELLO_ADAPTER: adapter
    })
    expect((await call(demo.url, "POST", "/v1/users", { token: accessToken, body: { userId: "u", email: "u@example.test" } })).status).toBe(201)
  })
  afterAll(async () => {
    await demo?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const auth = { authorization: `Bearer ${accessToken}` }
  const json = { ...auth, "content-type": "application/json" }

  it("bodies: bad JSON, wrong types, wrong media types, 2 MB", async () => {
    const bodies: Array<[string, string, string | Buffer, Record<string, string>?]> = [
      ["POST", "/v1/users", "{"],
      ["POST", "/v1/users", "nul"],
      ["POST", "/v1/users", '{"userId": "x", "email": "x@example.test"'],
      ["POST", "/v1/users", "[]"],
      ["POST", "/v1/users", '"string"'],
      ["POST", "/v1/users", "42"],
      ["POST", "/v1/users", "null"],
      ["POST", "/v1/users", '{"userId": 1}'],
      ["POST", "/v1/users", '{"userId": ["a"]}'],
      ["POST", "/v1/users", '{"userId": "x", "email": 7}'],
      ["POST", "/v1/users", `{"userId": "${"x".repeat(5000)}"}`],
      ["POST", "/v1/users", Buffer.from([0xff, 0xfe, 0x00, 0x7b])],
      ["POST", "/v1/users", "userId=x", { "content-type": "application/x-www-form-urlencoded" }],
      ["POST", "/v1/users", "<user/>", { "content-type": "application/xml" }],
      ["POST", "/v1/users", '{"userId":"x"}', { "content-type": "text/plain" }],
      ["PATCH", "/v1/users/u", '{"email": {"$ne": null}}'],
      ["PATCH", "/v1/tenant", '{"callbackUrl": "javascript:alert(1)//{}"}'],
      ["POST", "/v1/users/u/totp", '{"enable": "true"}'],
      ["POST", "/v1/users/u/totp", '{"enable": 1}'],
      ["POST", "/v1/users/u/totp", "{}"],
      ["POST", "/v1/tokens", '{"tokenName": "t", "permissions": ["ROOT"]}'],
      // Beyond v1 (SPEC 5).
      ["POST", "/v1/users/u/recovery-codes/verify", "{}"],
      ["POST", "/v1/users/u/recovery-codes/verify", '{"code": 1234}'],
      ["POST", "/v1/users/u/recovery-codes/verify", `{"code": "${"x".repeat(65)}"}`],
      ["POST", "/v1/users/u/email/verify", '{"code": ""}'],
      ["POST", "/v1/users/u/email/verify", '{"code": ["123456"]}'],
      ["POST", "/v1/handoffs/choices", '{"payload": null}'],
      ["POST", "/v1/handoffs/approve", '{"payload": "x", "matchNumber": "42"}'],
      ["POST", "/v1/handoffs/approve", '{"payload": "x", "matchNumber": 100}'],
      ["POST", "/v1/handoffs/approve", '{"payload": "x", "matchNumber": 4.5}'],
      ["POST", "/v1/handoffs/approve", `{"payload": "${"x".repeat(2000)}", "matchNumber": 42}`],
      ["POST", "/v1/users/u/recovery-codes", "{}"],
      ["POST", "/v1/users", JSON.stringify({ userId: "big", email: "x".repeat(2 * 1024 * 1024) })]
    ]
    // Prototype poisoning attempts: Fastify refuses the body, Express parses it into a plain own
    // property that the schema ignores; either way nothing else happens.
    const proto = await raw(demo.port, "POST", "/v1/users", json, '{"__proto__": {"admin": true}, "userId": "p"}')
    expect([201, 400], proto.text).toContain(proto.status)
    for (const [method, path, body, headers] of bodies) {
      const answer = await raw(demo.port, method, path, { ...json, ...headers }, body)
      expectClientError(answer, `${method} ${path} ${String(body).slice(0, 40)}`)
    }
  })

  it("deep nesting (up to 100,000 levels) is a 4xx whose message is short and quotes nothing back", async () => {
    const deepArray = (depth: number) => `${"[".repeat(depth)}1${"]".repeat(depth)}`
    const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`
    const cases: Array<[string, string]> = []
    for (const depth of [1_000, 5_000, 100_000]) {
      cases.push(["/v1/users", deepArray(depth)])
      cases.push(["/v1/users", `{"userId": ${deepArray(depth)}}`])
      cases.push(["/v1/users", deepObject(depth)])
      cases.push(["/v1/tokens", `{"tokenName": "t", "permissions": ${deepArray(depth)}}`])
    }
    for (const [path, body] of cases) {
      const answer = await raw(demo.port, "POST", path, json, body)
      expectClientError(answer, `POST ${path} ${body.length} bytes`)
      const { message } = answer.json as { message: string }
      expect(message.length).toBeLessThanOrEqual(300)
      expect(message).not.toMatch(/\[\[|\{"a"/)
    }
  })

  it("a repeated payload is a 400 that does not quote the token or code back (SPEC 1.3)", async () => {
    const token = "A".repeat(42) + "w"
    for (const path of [`/v1/users/email?payload=${token}&payload=${token}`, "/v1/users/u/totp?payload=123456&payload=654321"]) {
      const answer = await raw(demo.port, "GET", path, auth)
      expectClientError(answer, `GET ${path}`)
      expect(answer.text).not.toContain(token)
      expect(answer.text).not.toMatch(/123456|654321/)
    }
  })

  it("paths: %00, %2F, bad escapes, very long and unicode user ids, dot segments", async () => {
    const paths = [
      "/v1/users/%00",
      "/v1/users/a%00b",
      "/v1/users/%2F",
      "/v1/users/a%2Fb",
      "/v1/users/a%2Fb/email",
      "/v1/users/%E0%A4%A",
      "/v1/users/%ZZ",
      "/v1/users/%",
      `/v1/users/${"x".repeat(129)}`,
      `/v1/users/${"x".repeat(5000)}`,
      `/v1/users/${encodeURIComponent("ü".repeat(200))}`,
      `/v1/users/${encodeURIComponent("👩‍💻")}`,
      "/v1/users/%F0%9F",
      "/v1/users/%C0%AF",
      "/v1/users/..%2F..%2Fetc%2Fpasswd",
      "/v1/users/u/totp?payload=%00",
      "/v1/users/u/totp?payload=",
      "/v1/users/u/totp?payload=1&payload=2",
      `/v1/users/email?payload=${"x".repeat(5000)}`,
      "/v1/users/email?payload[]=x",
      "/v1/tokens?page=-1&size=abc",
      "/v1/tokens/%00",
      "/v1/images/totp?tenantName=&userId=&userSecret=",
      "/v1/handoffs/short",
      `/v1/handoffs/${"A".repeat(43)}?wait=31`,
      `/v1/handoffs/${"A".repeat(43)}?wait=-1`,
      `/v1/handoffs/${"A".repeat(43)}?wait=abc`,
      `/v1/handoffs/${"A".repeat(43)}?wait=1&wait=2`,
      `/v1/handoffs/${"A".repeat(43)}`,
      "/v1/nope",
      "/nope/%00",
      "/login/%00",
      `/login/${"x".repeat(5000)}`
    ]
    for (const path of paths) {
      const answer = await raw(demo.port, "GET", path, auth)
      if (path.startsWith("/login/")) {
        // The confirmation page answers HTML: only its status matters here.
        expect(answer.status, `${path}: ${answer.text}`).toBeGreaterThanOrEqual(400)
        expect(answer.status, `${path}: ${answer.text}`).toBeLessThan(500)
      } else expectClientError(answer, `GET ${path}`)
    }
    // A valid user id of 128 characters, and a unicode one, are served.
    const long = "y".repeat(128)
    expect((await call(demo.url, "POST", "/v1/users", { token: accessToken, body: { userId: long } })).status).toBe(201)
    expect((await call(demo.url, "GET", `/v1/users/${long}`, { token: accessToken })).status).toBe(200)
    const unicode = "ünïcødé-用户-👩‍💻".repeat(3)
    expect((await call(demo.url, "POST", "/v1/users", { token: accessToken, body: { userId: unicode } })).status).toBe(201)
    const got = await call(demo.url, "GET", `/v1/users/${encodeURIComponent(unicode)}`, { token: accessToken })
    expect(got.status, got.text).toBe(200)
    expect(got.json).toEqual({ userId: unicode })
  })

  it("headers: ~64 KB of headers, odd authorization headers", async () => {
    expectClientError(await raw(demo.port, "GET", "/v1/users/u", { ...auth, "x-big": "a".repeat(64 * 1024) }), "64 KB header")
    expectClientError(await raw(demo.port, "GET", "/v1/users/u", { authorization: `Bearer ${"a".repeat(12_000)}` }), "long token")
    expectClientError(await raw(demo.port, "GET", "/v1/users/u", { authorization: "Basic dXNlcjpwYXNz" }), "basic")
    expectClientError(await raw(demo.port, "GET", "/v1/users/u", { authorization: "Bearer" }), "empty bearer")
    expectClientError(await raw(demo.port, "GET", "/v1/users/u", { authorization: `Bearer ${accessToken} extra` }), "two words")
    expectClientError(await raw(demo.port, "GET", "/v1/users/u", { authorization: "Bearer ünïcødé" }), "latin-1 token")
  })

  it("stays healthy afterwards, and answered no 5xx", async () => {
    const health = await call(demo.url, "GET", "/health")
    expect(health.status).toBe(200)
    expect(health.json).toEqual({ status: "ok", version: expect.any(String) })
    const statuses = demo
      .stdout()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { msg: string; status?: number })
      .filter((r) => r.msg === "request" || r.msg === "client error")
      .map((r) => r.status ?? 0)
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    expect(demo.stderr()).toBe("")
  })
})
