/**
 * The Effect client against a real Lagrello server: the service from its layer, typed failures
 * that `Effect.catchTag` handles end to end, and the derived `api` client.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Fiber, Layer, Redacted } from "effect"
import { afterAll, beforeAll } from "vitest"
import {
  Forbidden,
  LagrelloClient,
  layerLagrelloClient,
  layerLagrelloClientFetch,
  LagrelloTransportError,
  NotFound,
  TooManyRequests,
  Unauthorized,
  Unavailable
} from "../src/index.js"
import { adminToken, lastMail, lastToken, type RunningServer, startServer, unreachableUserId } from "./support.js"

let server: RunningServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(() => server.close())

const lagrello = () => layerLagrelloClientFetch({ baseUrl: server.url, accessToken: Redacted.make(adminToken) })

describe("LagrelloClient (Effect)", () => {
  it.live("users and magic links, with catchTag on the typed errors", () =>
    Effect.gen(function*() {
      const client = yield* LagrelloClient
      expect(yield* client.users.create({ userId: "grace", email: "grace@example.com" })).toEqual({
        userId: "grace",
        email: "grace@example.com"
      })
      const conflict = yield* client.users.create({ userId: "grace" }).pipe(
        Effect.as("created"),
        Effect.catchTag("Conflict", (e) => Effect.succeed(`conflict: ${e.message}`))
      )
      expect(conflict).toMatch(/^conflict: /)

      yield* client.sendMagicLink("grace")
      const token = yield* Effect.promise(() => lastToken(server.service, "grace@example.com"))
      expect(yield* client.verifyMagicLink(token)).toEqual({ userId: "grace", email: "grace@example.com" })
      const again = yield* client.verifyMagicLink(token).pipe(Effect.flip)
      expect(again).toBeInstanceOf(Unauthorized)

      const missing = yield* client.users.get("nobody").pipe(
        Effect.catchTag("NotFound", (e) => Effect.succeed(e))
      )
      expect(missing).toBeInstanceOf(NotFound)
    }).pipe(Effect.provide(lagrello())))

  it.live("TooManyRequests carries retryAfterSeconds from the Retry-After header", () =>
    Effect.gen(function*() {
      const client = yield* LagrelloClient
      yield* client.users.create({ userId: "heidi", email: "heidi@example.com" })
      for (let i = 0; i < 3; i++) yield* client.sendMagicLink("heidi")
      const error = yield* client.sendMagicLink("heidi").pipe(Effect.flip)
      expect(error).toBeInstanceOf(TooManyRequests)
      expect((error as TooManyRequests).retryAfterSeconds).toBeGreaterThan(590)
    }).pipe(Effect.provide(lagrello())))

  it.live("Forbidden, Unavailable and the transport error are tagged failures", () =>
    Effect.gen(function*() {
      const client = yield* LagrelloClient
      const unavailable = yield* client.users.get(unreachableUserId).pipe(Effect.flip)
      expect(unavailable).toBeInstanceOf(Unavailable)

      const stranger = yield* Effect.provide(
        LagrelloClient,
        layerLagrelloClientFetch({ baseUrl: server.url, accessToken: "wrong" })
      )
      const forbidden = yield* stranger.tenant.get().pipe(Effect.flip)
      expect(forbidden).toBeInstanceOf(Forbidden)

      const nowhere = yield* Effect.provide(
        LagrelloClient,
        layerLagrelloClientFetch({ baseUrl: "http://127.0.0.1:9", accessToken: "t", retry: false })
      )
      const result = yield* nowhere.tenant.get().pipe(
        Effect.catchTag("LagrelloTransportError", (e) => Effect.succeed(e.reason))
      )
      expect(result).toBe("Network")
    }).pipe(Effect.provide(lagrello())))

  it.live("layer works on any HttpClient; the derived api client is exposed", () =>
    Effect.gen(function*() {
      const client = yield* LagrelloClient
      const tenant = yield* client.api.tenants.get()
      expect(tenant.tenantName).toBe("Acme")
      const [user, response] = yield* client.api.users.create({ payload: { userId: "ivy" }, withResponse: true })
      expect(user).toEqual({ userId: "ivy" })
      expect(response.status).toBe(201)
      const either = yield* Effect.either(client.users.get(""))
      expect(Either.isLeft(either) && either.left._tag).toBe("InvalidPayload")
      expect(yield* Effect.either(client.tokens.list({ size: 21 }))).toMatchObject({
        left: { _tag: "InvalidPayload" }
      })
    }).pipe(
      Effect.provide(
        layerLagrelloClient({ baseUrl: server.url, accessToken: adminToken }).pipe(Layer.provide(FetchHttpClient.layer))
      )
    ))

  it("LagrelloTransportError is an Error", () => {
    const error = new LagrelloTransportError({ reason: "Timeout", message: "late" })
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe("LagrelloTransportError")
  })
  it.live("beyond v1: a handoff approved by another fiber answers the long poll; a wrong recovery code is a tagged Unauthorized", () =>
    Effect.gen(function*() {
      const client = yield* LagrelloClient
      yield* client.users.create({ userId: "jules", email: "jules@example.com" })
      const handoff = yield* client.handoffs.start("jules")
      const waiting = yield* Effect.fork(client.handoffs.status(handoff.handoffId, { waitSeconds: 20 }))
      const { token } = yield* Effect.promise(() => lastMail(server.service, "jules@example.com"))
      yield* client.handoffs.approve(token, handoff.matchNumber)
      expect(yield* Fiber.join(waiting)).toEqual({ status: "approved", user: { userId: "jules", email: "jules@example.com" } })
      const wrong = yield* client.recoveryCodes.verify("jules", "2222-2222-2222-2222").pipe(
        Effect.catchTag("Unauthorized", (e) => Effect.succeed(e))
      )
      expect(wrong).toBeInstanceOf(Unauthorized)
    }).pipe(Effect.provide(lagrello())))
})
