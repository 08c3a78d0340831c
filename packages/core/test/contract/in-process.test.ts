/**
 * A sanity check that the contract can be implemented and called: `LagrelloApi` with stub
 * handlers (`users` and `auth` answer, the other groups are not exercised), served in-process by
 * `HttpApiBuilder` as a web handler (no socket), and called through a derived `HttpApiClient`. The
 * real server (with its error-mapping middleware) comes later; this pins what the contract alone
 * gives it.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import { Effect, Layer, Redacted } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import {
  Authentication,
  CurrentPrincipal,
  Forbidden,
  LagrelloApi,
  NotFound,
  RetryAfterSecondsField,
  TooManyRequests,
  Unauthorized
} from "../../src/contract/index.js"

const TestApi = LagrelloApi

const AuthenticationTest = Layer.succeed(
  Authentication,
  Authentication.of({
    token: (token) =>
      Redacted.value(token) === "good"
        ? Effect.succeed({ tenantId: "t1", tokenId: "k1", tokenName: "test", permissions: ["ADMIN"] })
        : Effect.fail(new Forbidden({ message: "The access token is missing or wrong" }))
  })
)

const AuthHandlers = HttpApiBuilder.group(TestApi, "auth", (handlers) =>
  handlers
    .handle("verifyMagicLink", ({ urlParams }) =>
      urlParams.payload === "right"
        ? Effect.succeed({ userId: "alice", email: "alice@example.com" })
        : Effect.fail(new Unauthorized({ message: "The magic link is wrong, expired or used" })))
    .handle("sendMagicLink", ({ path }) =>
      path.userId === "alice" || path.userId.length > 100
        ? Effect.void
        : Effect.fail(new NotFound({ message: `No user ${path.userId}` })))
    .handle("verifyTotp", () =>
      Effect.flatMap(CurrentPrincipal, (principal) =>
        Effect.fail(new TooManyRequests({ message: `Too many codes (${principal.tenantId})`, retryAfterSeconds: 60 }))))
    .handle("toggleTotp", ({ payload }) =>
      payload.enable
        ? Effect.succeed({ secretKey: "JBSWY3DPEHPK3PXP", qrImage: "data:image/png;base64,AAAA" })
        : Effect.void)
)

const UsersHandlers = HttpApiBuilder.group(TestApi, "users", (handlers) =>
  handlers
    .handle("create", ({ payload }) => Effect.succeed(payload))
    .handle("get", ({ path }) => Effect.succeed({ userId: path.userId }))
    .handle("update", ({ path, payload }) => Effect.succeed({ userId: path.userId, ...payload }))
    .handle("delete", () => Effect.void))

const notHere = Effect.dieMessage("not exercised by this test")

const OtherHandlers = Layer.mergeAll(
  HttpApiBuilder.group(TestApi, "tenants", (handlers) =>
    handlers.handle("get", () => notHere).handle("update", () => notHere)),
  HttpApiBuilder.group(TestApi, "tokens", (handlers) =>
    handlers.handle("list", () => notHere).handle("create", () => notHere).handle("delete", () => notHere)),
  HttpApiBuilder.group(TestApi, "images", (handlers) =>
    handlers.handle("totp", () => Effect.succeed(new Uint8Array([0x89, 0x50, 0x4e, 0x47])))),
  HttpApiBuilder.group(TestApi, "recovery", (handlers) =>
    handlers.handle("generate", () => notHere).handle("status", () => notHere).handle("verify", () => notHere)),
  HttpApiBuilder.group(TestApi, "crossDevice", (handlers) =>
    handlers
      .handle("verifyEmailCode", () => notHere)
      .handle("startHandoff", () => notHere)
      .handle("getHandoff", () => notHere)
      .handle("handoffChoices", () => notHere)
      .handle("approveHandoff", () => notHere)),
  HttpApiBuilder.group(TestApi, "events", (handlers) => handlers.handle("list", () => notHere)),
  HttpApiBuilder.group(TestApi, "webhooks", (handlers) =>
    handlers
      .handle("create", () => notHere)
      .handle("list", () => notHere)
      .handle("delete", () => notHere)
      .handle("rotateSecret", () => notHere)
      .handle("listDeliveries", () => notHere)
      .handle("retryDelivery", () => notHere))
)

const { dispose, handler } = HttpApiBuilder.toWebHandler(
  Layer.mergeAll(
    HttpApiBuilder.api(TestApi).pipe(
      Layer.provide([UsersHandlers, AuthHandlers, OtherHandlers]),
      Layer.provide(AuthenticationTest)
    ),
    HttpServer.layerContext,
    // The router refuses path parameters over 100 characters by default (an empty 404): a
    // userId may have 128, and a longer one should be a 400 that says why.
    HttpRouter.setRouterConfig({ maxParamLength: 1024 })
  )
)
afterAll(() => dispose())

// Stands in for the server's middleware, which will set Retry-After on 429 answers.
const serve = async (request: Request): Promise<Response> => {
  const response = await handler(request)
  if (response.status !== 429) return response
  const headers = new Headers(response.headers)
  headers.set("retry-after", "60")
  return new Response(response.body, { status: 429, headers })
}

const call = (path: string, init: RequestInit = {}) =>
  serve(
    new Request(`http://localhost${path}`, {
      ...init,
      headers: { authorization: "Bearer good", "content-type": "application/json", ...init.headers }
    })
  )

describe("the contract served in-process", () => {
  it("POST /v1/users answers 201 User", async () => {
    const response = await call("/v1/users", { method: "POST", body: JSON.stringify({ userId: "carol" }) })
    expect(response.status).toBe(201)
    expect(await response.json()).toStrictEqual({ userId: "carol" })
  })

  it("GET /v1/users/email is the magic-link verification, not the user called email", async () => {
    const verified = await call("/v1/users/email?payload=right")
    expect(verified.status).toBe(200)
    expect(await verified.json()).toStrictEqual({ userId: "alice", email: "alice@example.com" })
    const user = await call("/v1/users/bob")
    expect(await user.json()).toStrictEqual({ userId: "bob" })
  })

  it("GET /v1/images/totp needs no token and answers image/png", async () => {
    const response = await handler(
      new Request("http://localhost/v1/images/totp?tenantName=Acme&userId=alice&userSecret=JBSWY3DPEHPK3PXP")
    )
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("image/png")
    const missing = await handler(new Request("http://localhost/v1/images/totp?tenantName=Acme&userId=alice"))
    expect(missing.status).toBe(400)
  })

  it("toggle TOTP on: 200 with exactly {secretKey, qrImage}", async () => {
    const response = await call("/v1/users/alice/totp", { method: "POST", body: JSON.stringify({ enable: true }) })
    expect(response.status).toBe(200)
    expect(await response.json()).toStrictEqual({ secretKey: "JBSWY3DPEHPK3PXP", qrImage: "data:image/png;base64,AAAA" })
  })

  it("toggle TOTP off: 204 with an empty body", async () => {
    const response = await call("/v1/users/alice/totp", { method: "POST", body: JSON.stringify({ enable: false }) })
    expect(response.status).toBe(204)
    expect(await response.text()).toBe("")
  })

  it("a wrong access token: 403 {errorType, message}", async () => {
    const response = await call("/v1/users/alice/email", { method: "POST", headers: { authorization: "Bearer bad" } })
    expect(response.status).toBe(403)
    expect(response.headers.get("content-type")).toBe("application/json")
    expect(await response.json()).toStrictEqual({
      errorType: "Forbidden",
      message: "The access token is missing or wrong"
    })
  })

  it("checks the access token before decoding parameters and body (SPEC 1.8)", async () => {
    const response = await call(`/v1/users/${"x".repeat(129)}/totp`, {
      method: "POST",
      body: JSON.stringify({ enable: "yes" }),
      headers: { authorization: "Bearer bad" }
    })
    expect(response.status).toBe(403)
  })

  it("typed errors answer their status and exactly {errorType, message}", async () => {
    const notFound = await call("/v1/users/bob/email", { method: "POST" })
    expect(notFound.status).toBe(404)
    expect(await notFound.json()).toStrictEqual({ errorType: "NotFound", message: "No user bob" })

    const unauthorized = await call("/v1/users/email?payload=wrong")
    expect(unauthorized.status).toBe(401)
    expect(await unauthorized.json()).toStrictEqual({
      errorType: "Unauthorized",
      message: "The magic link is wrong, expired or used"
    })

    const tooMany = await call("/v1/users/alice/totp?payload=123456")
    expect(tooMany.status).toBe(429)
    expect(await tooMany.json()).toStrictEqual({ errorType: "TooManyRequests", message: "Too many codes (t1)" })
  })

  it("a body that does not decode is a 400, but in the library's own form until the server maps it", async () => {
    const response = await call("/v1/users/alice/totp", { method: "POST", body: JSON.stringify({ enable: "yes" }) })
    expect(response.status).toBe(400)
    // What the server's middleware must turn into {errorType: "InvalidPayload", message}.
    expect(await response.json()).toMatchObject({ _tag: "HttpApiDecodeError" })
  })

  it("a userId of 128 characters is routed; a longer one is refused (400)", async () => {
    const longest = await call(`/v1/users/${"x".repeat(128)}/email`, { method: "POST" })
    expect(longest.status).toBe(204)
    const tooLong = await call(`/v1/users/${"x".repeat(129)}/email`, { method: "POST" })
    expect(tooLong.status).toBe(400)
    const control = await call(`/v1/users/a%0Ab/email`, { method: "POST" })
    expect(control.status).toBe(400)
  })
})

describe("a client derived from the contract", () => {
  const fetchLayer = Layer.mergeAll(
    FetchHttpClient.layer,
    Layer.succeed(FetchHttpClient.Fetch, (input, init) => serve(new Request(input, init)))
  )

  // The client side of Retry-After: copy the header into the 429 body before it is decoded.
  const withRetryAfter = (client: HttpClient.HttpClient): HttpClient.HttpClient =>
    HttpClient.transformResponse(client, (effect) =>
      Effect.flatMap(effect, (response) => {
        const retryAfter = Number(response.headers["retry-after"])
        if (response.status !== 429 || !Number.isSafeInteger(retryAfter)) return Effect.succeed(response)
        return Effect.map(response.json, (body) =>
          HttpClientResponse.fromWeb(
            response.request,
            new Response(JSON.stringify({ ...(body as object), [RetryAfterSecondsField]: retryAfter }), {
              status: 429,
              headers: { "content-type": "application/json" }
            })
          ))
      }))

  const makeClient = HttpApiClient.make(TestApi, {
    baseUrl: "http://localhost",
    transformClient: (c) => withRetryAfter(c.pipe(HttpClient.mapRequest(HttpClientRequest.bearerToken("good"))))
  })

  const run = <A, E>(f: (client: Effect.Effect.Success<typeof makeClient>) => Effect.Effect<A, E>) =>
    Effect.runPromise(Effect.flatMap(makeClient, f).pipe(Effect.provide(fetchLayer)))

  it("decodes the 200/204 union and typed errors (catchTag works)", async () => {
    const enabled = await run((c) => c.auth.toggleTotp({ path: { userId: "alice" }, payload: { enable: true } }))
    expect(enabled).toStrictEqual({ secretKey: "JBSWY3DPEHPK3PXP", qrImage: "data:image/png;base64,AAAA" })
    const disabled = await run((c) => c.auth.toggleTotp({ path: { userId: "alice" }, payload: { enable: false } }))
    expect(disabled).toBeUndefined()

    const notFound = await run((c) =>
      c.auth.sendMagicLink({ path: { userId: "bob" } }).pipe(
        Effect.as("sent"),
        Effect.catchTag("NotFound", (e) => Effect.succeed(`caught ${e.message}`))
      )
    )
    expect(notFound).toBe("caught No user bob")
  })

  it("fills TooManyRequests.retryAfterSeconds from Retry-After", async () => {
    const error = await run((c) => c.auth.verifyTotp({ path: { userId: "alice" }, urlParams: { payload: "1" } }).pipe(Effect.flip))
    expect(error).toBeInstanceOf(TooManyRequests)
    expect((error as TooManyRequests).retryAfterSeconds).toBe(60)
  })
})
