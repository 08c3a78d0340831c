/**
 * The Promise client against a real Lagrello server (the NestJS module on Fastify) on a loopback
 * port: every method, and every error type as `LagrelloError` with its `errorType` and `status`.
 */
import { base32Decode, totpAt } from "@lagrello/core"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  createLagrelloClient,
  isLagrelloError,
  isLagrelloTransportError,
  LagrelloError,
  type LagrelloPromiseClient,
  NotFound
} from "../src/index.js"
import { adminToken, lastMail, lastToken, type RunningServer, serverOptions, startServer, unreachableUserId } from "./support.js"

let server: RunningServer
let lagrello: LagrelloPromiseClient

beforeAll(async () => {
  server = await startServer(serverOptions({ policies: { sendLimit: 3, totpFailureLimit: 3, webhookAllowPrivate: true } }))
  lagrello = createLagrelloClient({ baseUrl: server.url, accessToken: adminToken })
})
afterAll(async () => {
  await lagrello.dispose()
  await server.close()
})

/** The rejection of `promise`, which must be a LagrelloError. */
const rejection = async (promise: Promise<unknown>): Promise<LagrelloError> => {
  const error = await promise.then(
    () => expect.fail("expected a rejection"),
    (e: unknown) => e
  )
  expect(isLagrelloError(error), String(error)).toBe(true)
  return error as LagrelloError
}

const code = (secretKey: string, at = Date.now()) => totpAt(base32Decode(secretKey)!, at)

describe("users", () => {
  it("create, get, update, delete; Conflict and NotFound", async () => {
    expect(await lagrello.users.create({ userId: "carol", email: "carol@example.com" })).toEqual({
      userId: "carol",
      email: "carol@example.com"
    })
    const conflict = await rejection(lagrello.users.create({ userId: "carol" }))
    expect(conflict).toBeInstanceOf(LagrelloError)
    expect(conflict).toBeInstanceOf(Error)
    expect(conflict).toMatchObject({ name: "LagrelloError", errorType: "Conflict", status: 409, retryAfter: undefined })
    expect(conflict.message.length).toBeGreaterThan(0)

    expect(await lagrello.users.get("carol")).toEqual({ userId: "carol", email: "carol@example.com" })
    expect(await lagrello.users.update("carol", { email: "c@example.org" })).toEqual({
      userId: "carol",
      email: "c@example.org"
    })
    expect(await lagrello.users.delete("carol")).toBeUndefined()

    const notFound = await rejection(lagrello.users.get("carol"))
    expect(notFound).toMatchObject({ errorType: "NotFound", status: 404 })
    expect(notFound.cause).toBeInstanceOf(NotFound)
    await expect(rejection(lagrello.users.delete("carol"))).resolves.toMatchObject({ errorType: "NotFound" })
    await expect(rejection(lagrello.users.update("carol", {}))).resolves.toMatchObject({ errorType: "NotFound" })
  })

  it("user ids with URL-structural characters travel intact", async () => {
    const userId = "a/b c?d#e%f.é"
    expect(await lagrello.users.create({ userId })).toEqual({ userId })
    expect(await lagrello.users.get(userId)).toEqual({ userId })
    await expect(lagrello.users.get("a")).rejects.toMatchObject({ errorType: "NotFound" })
    await lagrello.users.delete(userId)
    // URLs resolve "." and ".." segments (even percent-encoded): refused before sending.
    await expect(rejection(lagrello.users.get(".."))).resolves.toMatchObject({ errorType: "InvalidPayload" })
  })

  it("InvalidPayload: refused by the contract before sending, or by the server", async () => {
    const empty = await rejection(lagrello.users.get(""))
    expect(empty).toMatchObject({ errorType: "InvalidPayload", status: 400 })
    expect(empty.message).toContain("userId must not be empty")
    const email = await rejection(lagrello.users.create({ userId: "dave", email: "not-an-address" }))
    expect(email).toMatchObject({ errorType: "InvalidPayload", status: 400 })

    // The server's own 400: a magic link for a user with no e-mail address.
    await lagrello.users.create({ userId: "no-mail" })
    const noMail = await rejection(lagrello.sendMagicLink("no-mail"))
    expect(noMail).toMatchObject({ errorType: "InvalidPayload", status: 400 })
  })

  it("Unavailable (503) when the server's storage fails", async () => {
    const unavailable = await rejection(lagrello.users.get(unreachableUserId))
    expect(unavailable).toMatchObject({ errorType: "Unavailable", status: 503 })
  })
})

describe("magic links", () => {
  it("send, verify once; then Unauthorized", async () => {
    await lagrello.users.create({ userId: "alice", email: "alice@example.com" })
    expect(await lagrello.sendMagicLink("alice")).toBeUndefined()
    const token = await lastToken(server.service, "alice@example.com")
    expect(await lagrello.verifyMagicLink(token)).toEqual({ userId: "alice", email: "alice@example.com" })
    const used = await rejection(lagrello.verifyMagicLink(token))
    expect(used).toMatchObject({ errorType: "Unauthorized", status: 401 })
    await expect(rejection(lagrello.verifyMagicLink("wrong"))).resolves.toMatchObject({ errorType: "Unauthorized" })
  })

  it("NotFound for an unknown user; TooManyRequests with retryAfter from Retry-After", async () => {
    await expect(rejection(lagrello.sendMagicLink("nobody"))).resolves.toMatchObject({ errorType: "NotFound" })
    await lagrello.users.create({ userId: "bob", email: "bob@example.com" })
    for (let i = 0; i < 3; i++) await lagrello.sendMagicLink("bob")
    const throttled = await rejection(lagrello.sendMagicLink("bob"))
    expect(throttled).toMatchObject({ errorType: "TooManyRequests", status: 429 })
    // The 10-minute window of the send throttle, in whole seconds.
    expect(throttled.retryAfter).toBeGreaterThan(590)
    expect(throttled.retryAfter).toBeLessThanOrEqual(600)
  })
})

describe("TOTP", () => {
  it("enable, verify, replay refused, disable", async () => {
    await lagrello.users.create({ userId: "erin" })
    const { secretKey, qrImage } = await lagrello.enableTotp("erin")
    expect(secretKey).toMatch(/^[A-Z2-7]{32}$/)
    expect(qrImage).toMatch(/^data:image\/png;base64,/)
    const right = code(secretKey)
    expect(await lagrello.verifyTotp("erin", right)).toEqual({ userId: "erin" })
    await expect(rejection(lagrello.verifyTotp("erin", right))).resolves.toMatchObject({
      errorType: "Unauthorized",
      status: 401
    })
    expect(await lagrello.disableTotp("erin")).toBeUndefined()
    await expect(rejection(lagrello.verifyTotp("erin", code(secretKey, Date.now() + 30_000)))).resolves.toMatchObject({
      errorType: "Unauthorized"
    })
    await expect(rejection(lagrello.enableTotp("nobody"))).resolves.toMatchObject({ errorType: "NotFound" })
    await expect(rejection(lagrello.disableTotp("nobody"))).resolves.toMatchObject({ errorType: "NotFound" })
  })

  it("TooManyRequests after too many wrong codes, with retryAfter", async () => {
    await lagrello.users.create({ userId: "frank" })
    await lagrello.enableTotp("frank")
    for (let i = 0; i < 3; i++) {
      await expect(rejection(lagrello.verifyTotp("frank", "000000"))).resolves.toMatchObject({
        errorType: "Unauthorized"
      })
    }
    const locked = await rejection(lagrello.verifyTotp("frank", "000000"))
    expect(locked).toMatchObject({ errorType: "TooManyRequests", status: 429, retryAfter: 900 })
  })

  it("totpImage answers the PNG; totpImageUrl points at it", async () => {
    const params = { tenantName: "Acme", userId: "erin", userSecret: "JBSWY3DPEHPK3PXP" }
    const png = await lagrello.totpImage(params)
    expect(png).toBeInstanceOf(Uint8Array)
    expect([...png.slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47])
    const url = lagrello.totpImageUrl(params)
    expect(url).toBe(`${server.url}/v1/images/totp?tenantName=Acme&userId=erin&userSecret=JBSWY3DPEHPK3PXP`)
    const response = await fetch(url)
    expect(response.headers.get("content-type")).toBe("image/png")
    await expect(rejection(lagrello.totpImage({ ...params, userSecret: "" }))).resolves.toMatchObject({
      errorType: "InvalidPayload"
    })
  })
})

describe("beyond v1: recovery codes, the e-mail code, the handoff", () => {
  it("recovery codes: generate (needs confirmed TOTP), status, verify once", async () => {
    await lagrello.users.create({ userId: "rita" })
    await expect(rejection(lagrello.recoveryCodes.generate("rita"))).resolves.toMatchObject({ errorType: "InvalidPayload", status: 400 })
    const { secretKey } = await lagrello.enableTotp("rita")
    await lagrello.verifyTotp("rita", code(secretKey))
    const set = await lagrello.recoveryCodes.generate("rita")
    expect(set.codes).toHaveLength(10)
    expect(await lagrello.recoveryCodes.status("rita")).toEqual({ remaining: 10, createdAt: set.createdAt })
    expect(await lagrello.recoveryCodes.verify("rita", set.codes[0]!.toLowerCase())).toEqual({ userId: "rita" })
    await expect(rejection(lagrello.recoveryCodes.verify("rita", set.codes[0]!))).resolves.toMatchObject({ errorType: "Unauthorized", status: 401 })
    expect((await lagrello.recoveryCodes.status("rita")).remaining).toBe(9)
    await expect(rejection(lagrello.recoveryCodes.status("nobody"))).resolves.toMatchObject({ errorType: "NotFound" })
    // Refused by the contract before anything is sent: an empty code.
    await expect(rejection(lagrello.recoveryCodes.verify("rita", ""))).resolves.toMatchObject({ errorType: "InvalidPayload" })
  })

  it("the e-mail code signs in once, instead of the link", async () => {
    await lagrello.users.create({ userId: "sam", email: "sam@example.com" })
    await lagrello.sendMagicLink("sam")
    const mail = await lastMail(server.service, "sam@example.com")
    expect(await lagrello.verifyEmailCode("sam", mail.code)).toEqual({ userId: "sam", email: "sam@example.com" })
    await expect(rejection(lagrello.verifyEmailCode("sam", mail.code))).resolves.toMatchObject({ errorType: "Unauthorized" })
    await expect(rejection(lagrello.verifyMagicLink(mail.token))).resolves.toMatchObject({ errorType: "Unauthorized" })
  })

  it("a handoff: start, a long poll answered by the approval from another client, once", async () => {
    await lagrello.users.create({ userId: "tess", email: "tess@example.com" })
    const handoff = await lagrello.handoffs.start("tess")
    expect(handoff.handoffId).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const { token } = await lastMail(server.service, "tess@example.com")
    expect(await lagrello.handoffs.status(handoff.handoffId)).toEqual({ status: "pending" })
    // Longer than the client's default timeout of 10 s would allow without the wait's extension.
    const waiting = lagrello.handoffs.status(handoff.handoffId, { waitSeconds: 30 })
    const phone = createLagrelloClient({ baseUrl: server.url, accessToken: adminToken })
    try {
      const { choices } = await phone.handoffs.choices(token)
      expect(choices).toContain(handoff.matchNumber)
      expect(await phone.handoffs.approve(token, handoff.matchNumber)).toBeUndefined()
    } finally {
      await phone.dispose()
    }
    expect(await waiting).toEqual({ status: "approved", user: { userId: "tess", email: "tess@example.com" } })
    expect(await lagrello.handoffs.status(handoff.handoffId)).toEqual({ status: "expired" })
    await expect(rejection(lagrello.handoffs.approve(token, handoff.matchNumber))).resolves.toMatchObject({ errorType: "Unauthorized" })
    await expect(rejection(lagrello.handoffs.status(handoff.handoffId, { waitSeconds: 31 }))).resolves.toMatchObject({
      errorType: "InvalidPayload"
    })
    await expect(rejection(lagrello.handoffs.status("A".repeat(43)))).resolves.toMatchObject({ errorType: "NotFound" })
  })

  it("a wrong number denies the handoff: the waiter reads denied", async () => {
    await lagrello.users.create({ userId: "ugo", email: "ugo@example.com" })
    const handoff = await lagrello.handoffs.start("ugo")
    const { token } = await lastMail(server.service, "ugo@example.com")
    const { choices } = await lagrello.handoffs.choices(token)
    const waiting = lagrello.handoffs.status(handoff.handoffId, { waitSeconds: 30 })
    const denied = await rejection(lagrello.handoffs.approve(token, choices.find((n) => n !== handoff.matchNumber)!))
    expect(denied).toMatchObject({ errorType: "Unauthorized", status: 401 })
    expect(await waiting).toEqual({ status: "denied" })
  })
})

describe("tokens and tenant", () => {
  it("create, list, use, delete; Forbidden for a missing permission and a revoked token", async () => {
    const created = await lagrello.tokens.create({ tokenName: "reader", permissions: ["READ"] })
    expect(created).toMatchObject({ tokenName: "reader", permissions: ["READ"] })
    const list = await lagrello.tokens.list()
    const listed = list.data.find((t) => t.tokenName === "reader")
    expect(listed).toBeDefined()
    expect(listed!.tokenKey).not.toBe(created.tokenKey)
    expect((await lagrello.tokens.list({ size: 1, page: 1 })).data).toHaveLength(1)

    const reader = createLagrelloClient({ baseUrl: server.url, accessToken: created.tokenKey })
    try {
      expect((await reader.tenant.get()).tenantName).toBe("Acme")
      const forbidden = await rejection(reader.users.create({ userId: "x" }))
      expect(forbidden).toMatchObject({ errorType: "Forbidden", status: 403 })
      await expect(rejection(reader.tokens.list())).resolves.toMatchObject({ errorType: "Forbidden" })

      expect(await lagrello.tokens.delete(listed!.tokenKey)).toBeUndefined()
      await expect(rejection(reader.tenant.get())).resolves.toMatchObject({ errorType: "Forbidden" })
      await expect(rejection(lagrello.tokens.delete(listed!.tokenKey))).resolves.toMatchObject({
        errorType: "NotFound"
      })
    } finally {
      await reader.dispose()
    }
  })

  it("a wrong access token is Forbidden on every authenticated call", async () => {
    const stranger = createLagrelloClient({ baseUrl: server.url, accessToken: "wrong-token" })
    try {
      for (const call of [() => stranger.users.get("alice"), () => stranger.verifyMagicLink("x"), () => stranger.tenant.get()]) {
        await expect(rejection(call())).resolves.toMatchObject({ errorType: "Forbidden", status: 403 })
      }
    } finally {
      await stranger.dispose()
    }
  })

  it("tenant get and update", async () => {
    const tenant = await lagrello.tenant.get()
    expect(tenant).toMatchObject({ tenantName: "Acme", activated: true, callbackUrl: "https://app.example.com/login/{}" })
    const updated = await lagrello.tenant.update({ callbackUrl: "https://app.example.com/signin?token={}" })
    expect(updated.callbackUrl).toBe("https://app.example.com/signin?token={}")
    expect((await lagrello.tenant.get()).callbackUrl).toBe("https://app.example.com/signin?token={}")
    await expect(rejection(lagrello.tenant.update({ callbackUrl: "ftp://x/{}" }))).resolves.toMatchObject({
      errorType: "InvalidPayload"
    })
  })
})

describe("the client itself", () => {
  it("refuses invalid options at once", () => {
    expect(() => createLagrelloClient({ baseUrl: "not a url", accessToken: "t" })).toThrow(TypeError)
    expect(() => createLagrelloClient({ baseUrl: "ftp://x", accessToken: "t" })).toThrow(/http\(s\)/)
    expect(() => createLagrelloClient({ baseUrl: server.url, accessToken: "" })).toThrow(/accessToken/)
    expect(() => createLagrelloClient({ baseUrl: server.url, accessToken: "t", timeoutMs: -1 })).toThrow(/timeoutMs/)
    expect(() => createLagrelloClient({ baseUrl: server.url, accessToken: "t", retry: { retries: 1.5 } })).toThrow(/retries/)
  })

  it("a connection refused is a LagrelloTransportError (Network), not a LagrelloError", async () => {
    const nowhere = createLagrelloClient({ baseUrl: "http://127.0.0.1:9", accessToken: "t", retry: false })
    const error = await nowhere.sendMagicLink("alice").catch((e: unknown) => e)
    expect(isLagrelloTransportError(error)).toBe(true)
    expect(isLagrelloError(error)).toBe(false)
    expect(error).toMatchObject({ _tag: "LagrelloTransportError", reason: "Network" })
    expect(String((error as Error).message)).not.toContain("t\"")
    await nowhere.dispose()
  })

  it("dispose releases the runtime; later calls reject", async () => {
    const client = createLagrelloClient({ baseUrl: server.url, accessToken: adminToken })
    expect((await client.tenant.get()).tenantName).toBe("Acme")
    await client.dispose()
    await client.dispose()
    await expect(client.tenant.get()).rejects.toThrow(/disposed/)
  })
})

describe("events and webhooks (SPEC 6)", () => {
  it("events.list reads the log by following next; webhooks: create, list, rotate, deliveries, retry, delete", async () => {
    await lagrello.users.create({ userId: "eve" })
    let after: string | undefined
    const seen: Array<{ type: string; userId?: string }> = []
    for (;;) {
      const page = await lagrello.events.list({ after, limit: 2, type: "user.created" })
      seen.push(...page.events)
      after = page.next
      if (page.events.length === 0) break
    }
    expect(seen.every((e) => e.type === "user.created")).toBe(true)
    expect(seen.filter((e) => e.userId === "eve")).toHaveLength(1)
    expect((await rejection(lagrello.events.list({ after: "not-a-cursor" }))).errorType).toBe("InvalidPayload")

    const received: Array<string> = []
    const receiver = createServer((req, res) => {
      received.push(String(req.headers["webhook-id"]))
      req.resume()
      req.on("end", () => res.writeHead(204).end())
    })
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`
      const hook = await lagrello.webhooks.create({ url, events: ["user.deleted"] })
      expect(hook).toMatchObject({ url, events: ["user.deleted"], enabled: true, secret: expect.stringMatching(/^whsec_/) })
      expect((await lagrello.webhooks.list()).data).toEqual([{ id: hook.id, url, events: ["user.deleted"], enabled: true, createdAt: hook.createdAt }])
      const rotated = await lagrello.webhooks.rotateSecret(hook.id)
      expect(rotated.secret).not.toBe(hook.secret)
      await lagrello.users.delete("eve")
      const deadline = Date.now() + 10_000
      let deliveries = await lagrello.webhooks.deliveries(hook.id)
      while (deliveries.data[0]?.status !== "delivered" && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50))
        deliveries = await lagrello.webhooks.deliveries(hook.id)
      }
      expect(deliveries.data).toHaveLength(1)
      expect(deliveries.data[0]).toMatchObject({ eventType: "user.deleted", status: "delivered" })
      expect(received).toEqual([deliveries.data[0]!.id])
      expect(await lagrello.webhooks.retry(hook.id, deliveries.data[0]!.id)).toBeUndefined()
      expect((await rejection(lagrello.webhooks.retry(hook.id, "evt_none"))).errorType).toBe("NotFound")
      expect(await lagrello.webhooks.delete(hook.id)).toBeUndefined()
      expect((await rejection(lagrello.webhooks.delete(hook.id))).errorType).toBe("NotFound")
      const refused = await rejection(lagrello.webhooks.create({ url: "ftp://example.com/x", events: ["*"] }))
      expect(refused).toMatchObject({ errorType: "InvalidPayload", status: 400 })
      expect(refused.message).not.toContain("ftp://example.com/x")
    } finally {
      await new Promise((resolve) => receiver.close(resolve))
    }
  })
})
