/**
 * Shared by the NestJS tests: module options on in-memory storage, an application listening on a
 * loopback port (Fastify or Express), and reading the link a send put in the outbox.
 */
import "reflect-metadata"
import type { LagrelloModuleOptions } from "../src/index.js"
import { LagrelloModule, LagrelloService } from "../src/index.js"
import { readMailbox } from "@lagrello/core"
import type { INestApplication } from "@nestjs/common"
import { Module } from "@nestjs/common"
import { NestFactory } from "@nestjs/core"
import { ExpressAdapter } from "@nestjs/platform-express"
import { FastifyAdapter } from "@nestjs/platform-fastify"
import { Effect } from "effect"

export const adminToken = "nest-test-admin-token-0123456789abcdef"
export const encryptionKey = Buffer.alloc(32, 9).toString("base64")

export const options = (overrides: Partial<LagrelloModuleOptions> = {}): LagrelloModuleOptions => ({
  storage: { memory: true },
  mail: { development: true },
  encryptionKeys: encryptionKey,
  bootstrap: { tenantName: "Acme", accessToken: adminToken, callbackUrl: "https://app.example.com/login/{}" },
  outbox: { enabled: false },
  webhooks: { enabled: false },
  ...overrides
})

export type AdapterName = "fastify" | "express"

export const startApp = async (
  adapter: AdapterName,
  moduleOptions: Parameters<typeof LagrelloModule.forRoot>[0] = options()
): Promise<{ app: INestApplication; url: string; service: LagrelloService }> => {
  @Module({ imports: [LagrelloModule.forRoot(moduleOptions)] })
  class AppModule {}
  const app = await NestFactory.create(AppModule, adapter === "fastify" ? new FastifyAdapter({ routerOptions: { maxParamLength: 2048 } }) : new ExpressAdapter(), {
    logger: false
  })
  await app.listen(0, "127.0.0.1")
  const url = (await app.getUrl()).replace("[::1]", "127.0.0.1")
  return { app, url, service: app.get(LagrelloService) }
}

/** The token of the newest link sent to `email`, read from the outbox as a mail reader would. */
export const lastToken = (service: LagrelloService, email: string) =>
  service.runtime.runPromise(
    Effect.gen(function* () {
      for (const { message } of yield* readMailbox(100)) {
        const match = /\/login\/([A-Za-z0-9_-]{43})/.exec(message.text)
        if (message.to === email && match) return match[1]!
      }
      return yield* Effect.dieMessage(`no link was sent to ${email}`)
    })
  )
