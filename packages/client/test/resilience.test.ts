/**
 * Timeouts, aborts and retries, against stub HTTP servers that misbehave on purpose: one that
 * never answers, one that answers 502/503/504, one that refuses connections. A verify or a send is
 * attempted exactly once whatever happens; only idempotent reads are attempted again.
 */
import { afterEach, describe, expect, it } from "vitest"
import { createLagrelloClient, type LagrelloClientOptions, type LagrelloPromiseClient } from "../src/index.js"
import { json, startStub, type StubServer } from "./support.js"

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const stub = async (handler: Parameters<typeof startStub>[0]): Promise<StubServer> => {
  const server = await startStub(handler)
  cleanups.push(server.close)
  return server
}

const client = (baseUrl: string, options: Partial<LagrelloClientOptions> = {}): LagrelloPromiseClient => {
  const created = createLagrelloClient({ baseUrl, accessToken: "stub-token", ...options })
  cleanups.push(created.dispose)
  return created
}

const fast = { retries: 2, baseDelayMs: 5, maxDelayMs: 20 }
const user = { userId: "alice" }

/** Every call the client has, as a name and a thunk. */
const everyCall = (c: LagrelloPromiseClient) => ({
  sendMagicLink: () => c.sendMagicLink("alice"),
  verifyMagicLink: () => c.verifyMagicLink("token"),
  enableTotp: () => c.enableTotp("alice"),
  disableTotp: () => c.disableTotp("alice"),
  verifyTotp: () => c.verifyTotp("alice", "123456"),
  "users.create": () => c.users.create(user),
  "users.get": () => c.users.get("alice"),
  "users.update": () => c.users.update("alice", {}),
  "users.delete": () => c.users.delete("alice"),
  "tokens.list": () => c.tokens.list(),
  "tokens.create": () => c.tokens.create({ tokenName: "t" }),
  "tokens.delete": () => c.tokens.delete("id"),
  "tenant.get": () => c.tenant.get(),
  "tenant.update": () => c.tenant.update({}),
  totpImage: () => c.totpImage({ tenantName: "Acme", userId: "alice", userSecret: "JBSWY3DPEHPK3PXP" })
})

const retried = new Set(["users.get", "tokens.list", "tenant.get", "totpImage"])

describe("retries", () => {
  it("a verify, a send and every write are attempted once; idempotent reads again (503 Unavailable)", async () => {
    const server = await stub((_request, response) =>
      json(response, 503, { errorType: "Unavailable", message: "The database is unavailable" })
    )
    const c = client(server.url, { retry: fast })
    for (const [name, call] of Object.entries(everyCall(c))) {
      server.requests.length = 0
      const error = await call().catch((e: unknown) => e)
      if (name === "totpImage") {
        // Not declared by the contract for this endpoint: an unexpected answer, still a 503.
        expect(error, name).toMatchObject({ _tag: "LagrelloTransportError", reason: "UnexpectedResponse", status: 503 })
      } else {
        expect(error, name).toMatchObject({ name: "LagrelloError", errorType: "Unavailable", status: 503 })
      }
      expect(server.requests.length, name).toBe(retried.has(name) ? 3 : 1)
    }
  })

  it("a proxy's 502 and 504 pages: UnexpectedResponse with the status; reads retried, verifies not", async () => {
    let status = 502
    const server = await stub((_request, response) => {
      response.writeHead(status, { "content-type": "text/html" })
      response.end("<html><body>Bad gateway</body></html>")
    })
    const c = client(server.url, { retry: fast })
    for (status of [502, 504]) {
      server.requests.length = 0
      await expect(c.verifyMagicLink("token")).rejects.toMatchObject({ reason: "UnexpectedResponse", status })
      await expect(c.verifyTotp("alice", "123456")).rejects.toMatchObject({ reason: "UnexpectedResponse", status })
      await expect(c.sendMagicLink("alice")).rejects.toMatchObject({ reason: "UnexpectedResponse", status })
      expect(server.requests).toHaveLength(3)
      server.requests.length = 0
      await expect(c.users.get("alice")).rejects.toMatchObject({ reason: "UnexpectedResponse", status })
      expect(server.requests).toHaveLength(3)
    }
  })

  it("a read succeeds when a retry does", async () => {
    let calls = 0
    const server = await stub((_request, response) => {
      calls++
      if (calls < 3) json(response, 503, { errorType: "Unavailable", message: "try again" })
      else json(response, 200, { userId: "alice" })
    })
    const c = client(server.url, { retry: fast })
    expect(await c.users.get("alice")).toEqual({ userId: "alice" })
    expect(server.requests).toHaveLength(3)
  })

  it("no retry on other statuses (500, 404, 429), nor with retry: false", async () => {
    let answer: () => [number, unknown] = () => [500, ""]
    const server = await stub((_request, response) => {
      const [status, body] = answer()
      if (body === "") {
        response.writeHead(status)
        response.end()
      } else json(response, status, body)
    })
    const c = client(server.url, { retry: fast })
    await expect(c.users.get("alice")).rejects.toMatchObject({ reason: "UnexpectedResponse", status: 500 })
    answer = () => [404, { errorType: "NotFound", message: "no such user" }]
    await expect(c.users.get("alice")).rejects.toMatchObject({ errorType: "NotFound" })
    expect(server.requests).toHaveLength(2)

    answer = () => [503, { errorType: "Unavailable", message: "down" }]
    server.requests.length = 0
    await expect(client(server.url, { retry: false }).users.get("alice")).rejects.toMatchObject({
      errorType: "Unavailable"
    })
    expect(server.requests).toHaveLength(1)
  })

  it("network errors: a read is attempted again, a verify once", async () => {
    const server = await stub((request, _response) => request.socket.destroy())
    const c = client(server.url, { retry: fast })
    await expect(c.tenant.get()).rejects.toMatchObject({ _tag: "LagrelloTransportError", reason: "Network" })
    expect(server.requests).toHaveLength(3)
    server.requests.length = 0
    await expect(c.verifyMagicLink("token")).rejects.toMatchObject({ reason: "Network" })
    expect(server.requests).toHaveLength(1)
  })
})

describe("timeouts and aborts", () => {
  const silent = () => stub(() => {
    // never answers
  })

  it("no answer within timeoutMs: a LagrelloTransportError (Timeout)", async () => {
    const server = await silent()
    const c = client(server.url, { timeoutMs: 150, retry: false })
    const started = Date.now()
    await expect(c.verifyMagicLink("token")).rejects.toMatchObject({
      _tag: "LagrelloTransportError",
      reason: "Timeout",
      message: "No answer from the Lagrello server within 150 ms"
    })
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(server.requests).toHaveLength(1)
  })

  it("timeoutMs applies to each attempt of a read", async () => {
    const server = await silent()
    const c = client(server.url, { timeoutMs: 100, retry: fast })
    await expect(c.users.get("alice")).rejects.toMatchObject({ reason: "Timeout" })
    expect(server.requests).toHaveLength(3)
  })

  it("the default timeout is 10 s", async () => {
    const { defaults } = await import("../src/index.js")
    expect(defaults.timeoutMs).toBe(10_000)
  })

  it("an aborted call rejects with the signal's reason and aborts the request", async () => {
    let closed = 0
    const server = await stub((request) => request.socket.on("close", () => closed++))
    const c = client(server.url, { retry: fast })
    const controller = new AbortController()
    const pending = c.users.get("alice", { signal: controller.signal })
    setTimeout(() => controller.abort(), 100)
    const error = await pending.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DOMException)
    expect((error as DOMException).name).toBe("AbortError")
    expect(server.requests).toHaveLength(1)
    await expect.poll(() => closed).toBe(1)

    const reason = new Error("user navigated away")
    const again = new AbortController()
    const second = c.verifyMagicLink("token", { signal: again.signal })
    setTimeout(() => again.abort(reason), 50)
    await expect(second).rejects.toBe(reason)
  })

  it("an already aborted signal rejects without a request; AbortSignal.timeout sets a deadline", async () => {
    const server = await silent()
    const c = client(server.url, { timeoutMs: 0 })
    await expect(c.sendMagicLink("alice", { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" })
    expect(server.requests).toHaveLength(0)
    await expect(c.tenant.get({ signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ name: "TimeoutError" })
    expect(server.requests).toHaveLength(1)
  })
})

describe("the wire", () => {
  it("sends the bearer token on every request and honours a base path and custom fetch", async () => {
    const seen: Array<string | undefined> = []
    const server = await stub((request, response) => {
      seen.push(request.headers.authorization)
      json(response, 200, { userId: "alice" })
    })
    let fetched = 0
    const c = client(`${server.url}/lagrello/`, {
      fetch: (input, init) => {
        fetched++
        return fetch(input, init)
      }
    })
    expect(await c.users.get("alice")).toEqual({ userId: "alice" })
    expect(await c.verifyMagicLink("a b&c")).toEqual({ userId: "alice" })
    expect(server.requests).toEqual(["GET /lagrello/v1/users/alice", "GET /lagrello/v1/users/email?payload=a+b%26c"])
    expect(seen).toEqual(["Bearer stub-token", "Bearer stub-token"])
    expect(fetched).toBe(2)
  })

  it("decodes each error answer to its errorType; Retry-After as seconds or an HTTP date", async () => {
    let answer: [number, unknown, Record<string, string>] = [429, {}, {}]
    const server = await stub((_request, response) => json(response, ...answer))
    const c = client(server.url)
    const cases: Array<[number, string]> = [
      [400, "InvalidPayload"],
      [401, "Unauthorized"],
      [403, "Forbidden"],
      [404, "NotFound"],
      [429, "TooManyRequests"],
      [503, "Unavailable"]
    ]
    for (const [status, errorType] of cases) {
      answer = [status, { errorType, message: `a ${errorType}` }, status === 429 ? { "retry-after": "42" } : {}]
      await expect(c.verifyTotp("alice", "123456", {})).rejects.toMatchObject({
        errorType,
        status,
        message: `a ${errorType}`,
        retryAfter: status === 429 ? 42 : undefined
      })
    }
    answer = [409, { errorType: "Conflict", message: "exists" }, {}]
    await expect(c.users.create(user)).rejects.toMatchObject({ errorType: "Conflict", status: 409 })

    const inTwoMinutes = new Date(Date.now() + 120_000).toUTCString()
    answer = [429, { errorType: "TooManyRequests", message: "slow down" }, { "retry-after": inTwoMinutes }]
    const dated = await c.sendMagicLink("alice").catch((e: { retryAfter: number }) => e)
    expect((dated as { retryAfter: number }).retryAfter).toBeGreaterThanOrEqual(118)
    expect((dated as { retryAfter: number }).retryAfter).toBeLessThanOrEqual(121)

    answer = [429, { errorType: "TooManyRequests", message: "slow down" }, {}]
    await expect(c.sendMagicLink("alice")).rejects.toMatchObject({ retryAfter: 0 })
  })

  it("answers outside the contract are UnexpectedResponse, never a success", async () => {
    let answer: [number, unknown] = [200, { user: "not a User" }]
    const server = await stub((_request, response) => json(response, ...answer))
    const c = client(server.url, { retry: false })
    await expect(c.users.get("alice")).rejects.toMatchObject({ reason: "UnexpectedResponse" })
    answer = [404, { errorType: "Forbidden", message: "mismatched" }]
    await expect(c.users.get("alice")).rejects.toMatchObject({ reason: "UnexpectedResponse" })
    answer = [204, undefined]
    await expect(c.enableTotp("alice")).rejects.toMatchObject({ reason: "UnexpectedResponse", status: 204 })
  })

  it("errors never carry a secret: no access token, link token, code or TOTP secret", async () => {
    const headers: Array<Record<string, unknown>> = []
    const server = await stub((request, response) => {
      headers.push({ ...request.headers })
      if (request.url?.includes("/totp")) json(response, 200, { secretKey: "SECRETKEY234567", qrImage: 5 })
      else request.socket.destroy()
    })
    const c = client(server.url, { accessToken: "ACCESS-SECRET", retry: false })
    const failures = [
      await c.verifyMagicLink("LINK-SECRET").catch((e: unknown) => e),
      await c.verifyTotp("alice", "424242").catch((e: unknown) => e),
      await c.enableTotp("alice").catch((e: unknown) => e)
    ]
    expect(failures.map((e) => (e as { reason: string }).reason)).toEqual(["Network", "UnexpectedResponse", "UnexpectedResponse"])
    for (const error of failures) {
      const shown = [String(error), (error as Error).message, JSON.stringify(error), (error as Error).stack].join("\n")
      for (const secret of ["ACCESS-SECRET", "LINK-SECRET", "424242", "SECRETKEY234567"]) {
        expect(shown, secret).not.toContain(secret)
      }
    }
    // Only what the request needs: no tracing headers (a browser would need CORS to allow them).
    expect(headers[0]).toMatchObject({ authorization: "Bearer ACCESS-SECRET" })
    expect(Object.keys(headers[0]!).filter((name) => name === "b3" || name === "traceparent")).toEqual([])
  })
})
