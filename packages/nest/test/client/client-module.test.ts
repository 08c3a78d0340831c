/**
 * `LagrelloClientModule` the NestJS way: `Test.createTestingModule` with `forRoot` and
 * `forRootAsync`, the client injected into a provider and calling a real Lagrello server (this
 * package's own module on a loopback port), and disposed when the application closes.
 */
import "reflect-metadata"
import type { LagrelloPromiseClient } from "@lagrello/client"
import { isLagrelloError } from "@lagrello/client"
import type { INestApplication } from "@nestjs/common"
import { Injectable, Module } from "@nestjs/common"
import { Test } from "@nestjs/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { InjectLagrelloClient, LAGRELLO_CLIENT } from "../../src/client/lagrello-client.module-definition.js"
import { LagrelloClientModule } from "../../src/client/lagrello-client.module.js"
import { adminToken, startApp } from "../support.js"

let server: INestApplication
let url: string

beforeAll(async () => {
  ;({ app: server, url } = await startApp("fastify"))
})
afterAll(() => server.close())

@Injectable()
class Accounts {
  constructor(@InjectLagrelloClient() readonly lagrello: LagrelloPromiseClient) {}

  async register(userId: string, email: string) {
    return this.lagrello.users.create({ userId, email })
  }
}

@Injectable()
class Settings {
  readonly lagrelloUrl = () => url
  readonly lagrelloToken = adminToken
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

describe("LagrelloClientModule", () => {
  it("forRoot provides the client, which calls the server; closing disposes it", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [LagrelloClientModule.forRoot({ baseUrl: url, accessToken: adminToken })],
      providers: [Accounts]
    }).compile()
    await moduleRef.init()
    const accounts = moduleRef.get(Accounts)
    expect(await accounts.register("nina", "nina@example.com")).toEqual({ userId: "nina", email: "nina@example.com" })
    expect(await accounts.lagrello.users.get("nina")).toEqual({ userId: "nina", email: "nina@example.com" })
    const conflict = await accounts.register("nina", "nina@example.com").catch((e: unknown) => e)
    expect(isLagrelloError(conflict) && conflict.errorType).toBe("Conflict")
    expect(moduleRef.get(LAGRELLO_CLIENT)).toBe(accounts.lagrello)

    await moduleRef.close()
    await expect(accounts.lagrello.tenant.get()).rejects.toThrow(/disposed/)
  })

  it("forRootAsync takes its options from an injected provider", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        LagrelloClientModule.forRootAsync({
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (settings: Settings) => ({
            baseUrl: settings.lagrelloUrl(),
            accessToken: settings.lagrelloToken,
            timeoutMs: 5_000,
            retry: false
          })
        })
      ],
      providers: [Accounts]
    }).compile()
    await moduleRef.init()
    const { lagrello } = moduleRef.get(Accounts)
    expect(await lagrello.tenant.get()).toMatchObject({ tenantName: "Acme", activated: true })
    await lagrello.sendMagicLink("nina")
    const wrong = await lagrello.verifyMagicLink("not-a-token").catch((e: unknown) => e)
    expect(wrong).toMatchObject({ errorType: "Unauthorized", status: 401 })
    await moduleRef.close()
    await expect(lagrello.tenant.get()).rejects.toThrow(/disposed/)
  })

  it("isGlobal makes the client injectable in modules that do not import it", async () => {
    @Module({ providers: [Accounts], exports: [Accounts] })
    class FeatureModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [LagrelloClientModule.forRoot({ baseUrl: url, accessToken: adminToken, isGlobal: true }), FeatureModule]
    }).compile()
    const { lagrello } = moduleRef.get(Accounts)
    expect((await lagrello.tenant.get()).tenantName).toBe("Acme")
    await moduleRef.close()
  })

  it("invalid options fail at start with a clear error", async () => {
    await expect(
      Test.createTestingModule({
        imports: [LagrelloClientModule.forRoot({ baseUrl: "not a url", accessToken: adminToken })]
      }).compile()
    ).rejects.toThrow(/baseUrl/)
  })
})
