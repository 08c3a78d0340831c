/**
 * The v1 API over HTTP, on a listening application for each adapter: every endpoint and every
 * status code of the reference document, in the v1 error shape.
 */
import { base32Decode, totpAt } from "@lagrello/core"
import type { INestApplication } from "@nestjs/common"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { LagrelloService } from "../src/index.js"
import { adminToken, type AdapterName, lastToken, startApp } from "./support.js"

interface Answer {
  status: number
  headers: Headers
  text: string
  json: unknown
}

describe.each<AdapterName>(["fastify", "express"])("v1 API on %s", (adapter) => {
  let app: INestApplication
  let url: string
  let service: LagrelloService

  beforeAll(async () => {
    ;({ app, url, service } = await startApp(adapter))
  })
  afterAll(() => app.close())

  const call = async (
    method: string,
    path: string,
    options: { token?: string | null; body?: unknown; raw?: string; contentType?: string } = {}
  ): Promise<Answer> => {
    const headers: Record<string, string> = {}
    const token = options.token === undefined ? adminToken : options.token
    if (token !== null) headers.authorization = `Bearer ${token}`
    let body: string | undefined
    if (options.raw !== undefined) body = options.raw
    else if (options.body !== undefined) body = JSON.stringify(options.body)
    if (body !== undefined || options.contentType) headers["content-type"] = options.contentType ?? "application/json"
    const response = await fetch(url + path, { method, headers, ...(body === undefined ? {} : { body }) })
    const text = await response.text()
    let json: unknown
    try {
      json = text ? JSON.parse(text) : undefined
    } catch {
      json = undefined
    }
    return { status: response.status, headers: response.headers, text, json }
  }

  const expectError = (answer: Answer, status: number, errorType: string) => {
    expect(answer.status, answer.text).toBe(status)
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/)
    expect(answer.json).toEqual({ errorType, message: expect.any(String) })
    expect(Object.keys(answer.json as object)).toEqual(["errorType", "message"])
  }

  it("users: create 201, conflict 409, get 200, update 200, delete 204, then 404", async () => {
    const created = await call("POST", "/v1/users", { body: { userId: `u-${adapter}`, email: "u@example.com" } })
    expect(created.status).toBe(201)
    expect(created.json).toEqual({ userId: `u-${adapter}`, email: "u@example.com" })
    expectError(await call("POST", "/v1/users", { body: { userId: `u-${adapter}` } }), 409, "Conflict")
    expect((await call("GET", `/v1/users/u-${adapter}`)).json).toEqual({ userId: `u-${adapter}`, email: "u@example.com" })
    const updated = await call("PATCH", `/v1/users/u-${adapter}`, { body: { email: "new@example.com" } })
    expect(updated.json).toEqual({ userId: `u-${adapter}`, email: "new@example.com" })
    const deleted = await call("DELETE", `/v1/users/u-${adapter}`)
    expect(deleted.status).toBe(204)
    expect(deleted.text).toBe("")
    expectError(await call("GET", `/v1/users/u-${adapter}`), 404, "NotFound")
    expectError(await call("PATCH", `/v1/users/u-${adapter}`, { body: { email: "x@example.com" } }), 404, "NotFound")
    expectError(await call("DELETE", `/v1/users/u-${adapter}`), 404, "NotFound")
  })

  it("user ids of 128 characters (and non-ASCII ones) route; 129 is 400", async () => {
    const long = "é".repeat(128)
    const path = `/v1/users/${encodeURIComponent(long)}`
    expect((await call("POST", "/v1/users", { body: { userId: long } })).status).toBe(201)
    expect((await call("GET", path)).json).toEqual({ userId: long })
    expectError(await call("GET", `/v1/users/${"x".repeat(129)}`), 400, "InvalidPayload")
  })

  it("a user without email has no email key (never null)", async () => {
    const created = await call("POST", "/v1/users", { body: { userId: "no-mail" } })
    expect(created.text).toBe('{"userId":"no-mail"}')
  })

  it("access token: missing, wrong or lacking permission is 403 before any decoding", async () => {
    expectError(await call("GET", "/v1/users/x", { token: null }), 403, "Forbidden")
    expectError(await call("GET", "/v1/users/x", { token: "wrong" }), 403, "Forbidden")
    expectError(await call("POST", "/v1/users", { token: "wrong", raw: "{bad json" }), adapter === "fastify" ? 403 : 400, adapter === "fastify" ? "Forbidden" : "InvalidPayload")
    expectError(await call("POST", "/v1/users", { token: "wrong", body: { userId: "" } }), 403, "Forbidden")
    const reader = (await call("POST", "/v1/tokens", { body: { tokenName: "reader", permissions: ["READ"] } })).json as {
      tokenKey: string
    }
    expectError(await call("POST", "/v1/users", { token: reader.tokenKey, body: { userId: "r" } }), 403, "Forbidden")
    expectError(await call("GET", "/v1/tokens", { token: reader.tokenKey }), 403, "Forbidden")
    expect((await call("GET", "/v1/tenant", { token: reader.tokenKey })).status).toBe(200)
    // The token is accepted only in the Authorization header.
    expectError(await call("GET", `/v1/tenant?access_token=${adminToken}`, { token: null }), 403, "Forbidden")
  })

  it("bad input is 400 InvalidPayload", async () => {
    expectError(await call("POST", "/v1/users", { raw: "{bad json" }), 400, "InvalidPayload")
    expectError(await call("POST", "/v1/users", { body: { userId: "" } }), 400, "InvalidPayload")
    expectError(await call("POST", "/v1/users", { body: { userId: "x".repeat(129) } }), 400, "InvalidPayload")
    expectError(await call("POST", "/v1/users", { body: { userId: "a\u0001b" } }), 400, "InvalidPayload")
    expectError(await call("POST", "/v1/users", { body: { userId: "ok", email: "not-an-email" } }), 400, "InvalidPayload")
    expectError(await call("POST", "/v1/users", { body: [1, 2] }), 400, "InvalidPayload")
    expectError(await call("POST", "/v1/users", { raw: "userId=x", contentType: "text/plain" }), 400, "InvalidPayload")
    expectError(await call("POST", "/v1/users/x/totp", { body: { enable: "yes" } }), 400, "InvalidPayload")
    expectError(await call("POST", "/v1/users/x/totp", { raw: "" }), 400, "InvalidPayload")
    expectError(await call("GET", "/v1/users/email"), 400, "InvalidPayload")
    expectError(await call("GET", "/v1/tokens?size=21"), 400, "InvalidPayload")
    expectError(await call("GET", "/v1/tokens?page=0"), 400, "InvalidPayload")
    expectError(await call("PATCH", "/v1/tenant", { body: { callbackUrl: "https://no-placeholder.example.com" } }), 400, "InvalidPayload")
    expectError(await call("PATCH", "/v1/tenant", { body: { callbackUrl: "ftp://x.example.com/{}" } }), 400, "InvalidPayload")
    const big = await call("POST", "/v1/users", { body: { userId: "big", email: "x".repeat(2_000_000) } })
    expectError(big, 400, "InvalidPayload")
    expect((await call("GET", "/v1/tenant")).status).toBe(200)
  })

  it("magic link: send 204 (with an empty JSON body), verify 200 once, then 401; 400 without email; 404 unknown; 429 throttled", async () => {
    await call("POST", "/v1/users", { body: { userId: `ml-${adapter}`, email: `ml-${adapter}@example.com` } })
    // The generated SDKs send Content-Type: application/json with no body.
    const sent = await call("POST", `/v1/users/ml-${adapter}/email`, { contentType: "application/json" })
    expect(sent.status, sent.text).toBe(204)
    const token = await lastToken(service, `ml-${adapter}@example.com`)
    const verified = await call("GET", `/v1/users/email?payload=${token}`)
    expect(verified.status).toBe(200)
    expect(verified.json).toEqual({ userId: `ml-${adapter}`, email: `ml-${adapter}@example.com` })
    expectError(await call("GET", `/v1/users/email?payload=${token}`), 401, "Unauthorized")
    expectError(await call("GET", "/v1/users/email?payload=nonsense"), 401, "Unauthorized")

    await call("POST", "/v1/users", { body: { userId: `nomail-${adapter}` } })
    expectError(await call("POST", `/v1/users/nomail-${adapter}/email`), 400, "InvalidPayload")
    expectError(await call("POST", "/v1/users/nobody/email"), 404, "NotFound")

    for (let i = 0; i < 4; i++) expect((await call("POST", `/v1/users/ml-${adapter}/email`)).status).toBe(204)
    const throttled = await call("POST", `/v1/users/ml-${adapter}/email`)
    expectError(throttled, 429, "TooManyRequests")
    expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(500)
  })

  it("TOTP: enable 200 with data: QR, verify 200, replay 401, wrong 401, disable 204, 404 unknown", async () => {
    await call("POST", "/v1/users", { body: { userId: `t-${adapter}`, email: "t@example.com" } })
    const enabled = await call("POST", `/v1/users/t-${adapter}/totp`, { body: { enable: true } })
    expect(enabled.status).toBe(200)
    // Answers that carry a secret are never cached (SPEC 2.5); others are left to the defaults.
    expect(enabled.headers.get("cache-control")).toBe("no-store")
    const { qrImage, secretKey } = enabled.json as { secretKey: string; qrImage: string }
    expect(Object.keys(enabled.json as object).sort()).toEqual(["qrImage", "secretKey"])
    expect(qrImage).toMatch(/^data:image\/png;base64,/)
    const code = totpAt(base32Decode(secretKey)!, Date.now())
    const verified = await call("GET", `/v1/users/t-${adapter}/totp?payload=${code}`)
    expect(verified.status, verified.text).toBe(200)
    expect(verified.json).toEqual({ userId: `t-${adapter}`, email: "t@example.com" })
    expectError(await call("GET", `/v1/users/t-${adapter}/totp?payload=${code}`), 401, "Unauthorized")
    expectError(await call("GET", `/v1/users/t-${adapter}/totp?payload=12`), 401, "Unauthorized")
    expectError(await call("GET", `/v1/users/nobody/totp?payload=123456`), 404, "NotFound")
    expectError(await call("POST", "/v1/users/nobody/totp", { body: { enable: true } }), 404, "NotFound")
    const disabled = await call("POST", `/v1/users/t-${adapter}/totp`, { body: { enable: false } })
    expect(disabled.status).toBe(204)
    expect(disabled.text).toBe("")
    expectError(await call("GET", `/v1/users/t-${adapter}/totp?payload=${code}`), 401, "Unauthorized")
  })

  it("TOTP failures past the limit answer 429 with Retry-After", async () => {
    await call("POST", "/v1/users", { body: { userId: `lock-${adapter}` } })
    const { secretKey } = (await call("POST", `/v1/users/lock-${adapter}/totp`, { body: { enable: true } })).json as {
      secretKey: string
    }
    const right = totpAt(base32Decode(secretKey)!, Date.now())
    const wrong = right === "000000" ? "111111" : "000000"
    for (let i = 0; i < 10; i++) expect((await call("GET", `/v1/users/lock-${adapter}/totp?payload=${wrong}`)).status).toBe(401)
    const locked = await call("GET", `/v1/users/lock-${adapter}/totp?payload=${right}`)
    expectError(locked, 429, "TooManyRequests")
    expect(locked.headers.get("retry-after")).toBe("900")
  })

  it("tenant: get 200 complete, patch 200", async () => {
    const tenant = await call("GET", "/v1/tenant")
    expect(tenant.json).toMatchObject({ tenantName: "Acme", activated: true, callbackUrl: "https://app.example.com/login/{}" })
    expect(Object.keys(tenant.json as object).sort()).toEqual(["activated", "callbackUrl", "companyInfo", "tenantId", "tenantName"])
    const patched = await call("PATCH", "/v1/tenant", { body: { callbackUrl: "https://app.example.com/login/{}" } })
    expect(patched.status).toBe(200)
  })

  it("tokens: create 200 (shown once), list 200 (ids only), delete 204, then 403 and 404", async () => {
    const created = await call("POST", "/v1/tokens", { body: { tokenName: "ci", permissions: ["WRITE"] } })
    expect(created.status).toBe(200)
    expect(created.headers.get("cache-control")).toBe("no-store")
    expect((await call("GET", "/v1/tokens")).headers.get("cache-control")).toBeNull()
    const token = created.json as { tokenKey: string; permissions: Array<string> }
    expect(token.permissions).toEqual(["READ", "WRITE"])
    const list = await call("GET", "/v1/tokens?size=20&page=1")
    expect(list.status).toBe(200)
    const listed = (list.json as { data: Array<{ tokenKey: string; tokenName: string }> }).data
    expect(listed.some((t) => t.tokenKey === token.tokenKey)).toBe(false)
    const id = listed.find((t) => t.tokenName === "ci")!.tokenKey
    expect((await call("GET", "/v1/tenant", { token: token.tokenKey })).status).toBe(200)
    expect((await call("DELETE", `/v1/tokens/${id}`)).status).toBe(204)
    expectError(await call("GET", "/v1/tenant", { token: token.tokenKey }), 403, "Forbidden")
    expectError(await call("DELETE", `/v1/tokens/${id}`), 404, "NotFound")
  })

  it("images: GET /v1/images/totp is a PNG without an access token; 400 without parameters", async () => {
    const image = await fetch(`${url}/v1/images/totp?tenantName=Acme&userId=alice&userSecret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ`)
    expect(image.status).toBe(200)
    expect(image.headers.get("content-type")).toBe("image/png")
    expect(image.headers.get("cache-control")).toBe("no-store")
    const bytes = new Uint8Array(await image.arrayBuffer())
    expect([...bytes.slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47])
    expectError(await call("GET", "/v1/images/totp", { token: null }), 400, "InvalidPayload")
  })

  it("billing, sign-up and unknown v1 paths answer 404 in the v1 shape", async () => {
    expectError(await call("POST", "/v1/tenant", { body: { tenantName: "x", adminEmail: "a@example.com" } }), 404, "NotFound")
    expectError(await call("POST", "/v1/tenant/activate", { body: {} }), 404, "NotFound")
    expectError(await call("GET", "/v1/tenant/cardtoken"), 404, "NotFound")
    expectError(await call("GET", "/v1/nothing/here"), 404, "NotFound")
  })
})
