/**
 * Shared by the client tests: a real Lagrello server (the NestJS module of `@lagrello/nest` on
 * Fastify, in-memory storage, a bootstrap tenant with an ADMIN token) on a loopback port, the link
 * a send put in its outbox, and small stub servers for what a real server does not do on demand.
 *
 * No decorators here: the application module is declared by calling `Module(...)` as a function.
 */
import "reflect-metadata"
import { makeMemoryStorage, messageCode, readMailbox, Storage, Unavailable } from "@lagrello/core"
import type { LagrelloModuleOptions } from "@lagrello/nest"
import { LagrelloModule, LagrelloService } from "@lagrello/nest"
import type { INestApplication } from "@nestjs/common"
import { Module } from "@nestjs/common"
import { NestFactory } from "@nestjs/core"
import { FastifyAdapter } from "@nestjs/platform-fastify"
import { Effect, Layer } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export const adminToken = "client-test-admin-token-0123456789abcdef"
export const encryptionKey = Buffer.alloc(32, 7).toString("base64")

/** A user id whose reads fail in storage, as when the database is down (503 Unavailable). */
export const unreachableUserId = "db-down"

/** In-memory storage where reading the user {@link unreachableUserId} fails with Unavailable. */
const flakyStorage = Layer.sync(Storage, () => {
  const storage = makeMemoryStorage()
  return {
    ...storage,
    getUser: (tenantId: string, userId: string) =>
      userId === unreachableUserId
        ? Effect.fail(new Unavailable({ message: "The database is unavailable; try again shortly" }))
        : storage.getUser(tenantId, userId)
  }
})

export const serverOptions = (overrides: Partial<LagrelloModuleOptions> = {}): LagrelloModuleOptions => ({
  storage: { layer: flakyStorage },
  encryptionKeys: encryptionKey,
  bootstrap: { tenantName: "Acme", accessToken: adminToken, callbackUrl: "https://app.example.com/login/{}" },
  outbox: { enabled: false },
  policies: { sendLimit: 3 },
  ...overrides
})

export interface RunningServer {
  readonly app: INestApplication
  readonly url: string
  readonly service: LagrelloService
  readonly close: () => Promise<void>
}

/** A Lagrello server listening on a loopback port. */
export const startServer = async (options: LagrelloModuleOptions = serverOptions()): Promise<RunningServer> => {
  class AppModule {}
  Module({ imports: [LagrelloModule.forRoot(options)] })(AppModule)
  const app = await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false })
  await app.listen(0, "127.0.0.1")
  const url = (await app.getUrl()).replace("[::1]", "127.0.0.1")
  return { app, url, service: app.get(LagrelloService), close: () => app.close() }
}

/** The token of the newest link sent to `email`, read from the outbox as a mail reader would. */
export const lastToken = (service: LagrelloService, email: string): Promise<string> =>
  service.runtime.runPromise(
    Effect.gen(function* () {
      for (const { message } of yield* readMailbox(100)) {
        const match = /\/login\/([A-Za-z0-9_-]{43})/.exec(message.text)
        if (message.to === email && match) return match[1]!
      }
      return yield* Effect.dieMessage(`no link was sent to ${email}`)
    })
  )

/** The token and the code of the newest sign-in mail to `email`. */
export const lastMail = (service: LagrelloService, email: string): Promise<{ token: string; code: string }> =>
  service.runtime.runPromise(
    Effect.gen(function* () {
      for (const { message } of yield* readMailbox(100)) {
        const match = /\/login\/([A-Za-z0-9_-]{43})/.exec(message.text)
        const code = messageCode(message)
        if (message.to === email && match && code !== undefined) return { token: match[1]!, code }
      }
      return yield* Effect.dieMessage(`no mail with a code was sent to ${email}`)
    })
  )

export interface StubServer {
  readonly url: string
  /** Requests received, by "METHOD path?query". */
  readonly requests: Array<string>
  readonly close: () => Promise<void>
}

/**
 * A plain HTTP server answering every request with `handler` (which may also never answer). Open
 * connections are dropped on close.
 */
export const startStub = async (
  handler: (request: IncomingMessage, response: ServerResponse) => void
): Promise<StubServer> => {
  const requests: Array<string> = []
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`)
    handler(request, response)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** Answers `status` with a JSON body and extra headers. */
export const json = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  response.writeHead(status, { "content-type": "application/json", ...headers })
  response.end(JSON.stringify(body))
}
