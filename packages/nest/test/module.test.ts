/**
 * The module the NestJS way: `Test.createTestingModule` with `forRoot` and `forRootAsync`, the
 * injectable service, and the release of the runtime on shutdown.
 */
import "reflect-metadata"
import { Injectable, Module } from "@nestjs/common"
import { Test } from "@nestjs/testing"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, HashMap, Logger } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { LAGRELLO_CONTEXT, type LagrelloContext, LagrelloModule, LagrelloService } from "../src/index.js"
import { adminToken, lastToken, options } from "./support.js"

const dirs: Array<string> = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

@Injectable()
class SettingsService {
  readonly databaseFile: string
  constructor() {
    const dir = mkdtempSync(join(tmpdir(), "lagrello-nest-"))
    dirs.push(dir)
    this.databaseFile = join(dir, "lagrello.db")
  }
}

@Module({ providers: [SettingsService], exports: [SettingsService] })
class SettingsModule {}

describe("LagrelloModule", () => {
  it("forRoot provides LagrelloService bound to the bootstrap tenant", async () => {
    const moduleRef = await Test.createTestingModule({ imports: [LagrelloModule.forRoot(options())] }).compile()
    const lagrello = moduleRef.get(LagrelloService)
    await lagrello.tenant.createUser({ userId: "alice", email: "alice@example.com" })
    await lagrello.tenant.sendMagicLink("alice")
    const token = await lastToken(lagrello, "alice@example.com")
    expect(await lagrello.tenant.verifyMagicLink(token)).toEqual({ userId: "alice", email: "alice@example.com" })
    await expect(lagrello.tenant.verifyMagicLink(token)).rejects.toMatchObject({ _tag: "Unauthorized" })
    await expect(lagrello.tenant.getUser("nobody")).rejects.toMatchObject({ _tag: "NotFound" })
    const principal = await lagrello.authenticate(adminToken)
    expect(principal.permissions).toContain("ADMIN")
    await moduleRef.close()
  })

  it("writes the core's log lines through the logger option, the outbox worker's too", async () => {
    const lines: Array<{ level: string; message: unknown; annotations: Record<string, unknown> }> = []
    const logger = Logger.make(({ annotations, logLevel, message }) => {
      lines.push({ level: logLevel.label, message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
    })
    const moduleRef = await Test.createTestingModule({
      imports: [LagrelloModule.forRoot(options({ logger, outbox: { pollIntervalMillis: 20 } }))]
    }).compile()
    await moduleRef.init()
    const lagrello = moduleRef.get(LagrelloService)
    await lagrello.run(Effect.logWarning("from a program"))
    await lagrello.tenant.createUser({ userId: "logged", email: "logged@example.com" })
    await lagrello.tenant.sendMagicLink("logged")
    // The development mailbox "delivers" by logging, in the worker's fiber.
    for (let i = 0; i < 200 && !lines.some((l) => l.annotations.mailbox === "development"); i++) {
      await new Promise((r) => setTimeout(r, 25))
    }
    await moduleRef.close()
    expect(lines).toContainEqual(expect.objectContaining({ level: "WARN", message: ["from a program"] }))
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "INFO",
        message: [expect.stringMatching(/^Development mailbox: message to logged@example\.com: /)],
        annotations: expect.objectContaining({ mailbox: "development" })
      })
    )
  })

  it("forRootAsync takes its options from an injected provider, on a SQLite file", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        LagrelloModule.forRootAsync({
          imports: [SettingsModule],
          inject: [SettingsService],
          useFactory: (settings: SettingsService) => options({ storage: { sqlite: settings.databaseFile } })
        })
      ]
    }).compile()
    await moduleRef.init()
    const lagrello = moduleRef.get(LagrelloService)
    const tenant = await lagrello.tenant.getTenant()
    expect(tenant).toMatchObject({ tenantName: "Acme", activated: true })
    await moduleRef.close()
  })

  it("closing the application disposes the runtime", async () => {
    const moduleRef = await Test.createTestingModule({ imports: [LagrelloModule.forRoot(options())] }).compile()
    const context = moduleRef.get<LagrelloContext>(LAGRELLO_CONTEXT)
    await moduleRef.close()
    await expect(context.runtime.runPromise(Effect.void)).rejects.toThrow()
  })

  it("without a mail option: a warning naming the option, and a refusal when NODE_ENV=production", async () => {
    const { mail: _mail, ...withoutMail } = options()
    const lines: Array<string> = []
    const logger = Logger.make(({ message }) => lines.push(String(Array.isArray(message) ? message.join(" ") : message)))
    const moduleRef = await Test.createTestingModule({ imports: [LagrelloModule.forRoot({ ...withoutMail, logger })] }).compile()
    expect(lines.filter((line) => line.includes("no mail option"))).toHaveLength(1)
    expect(lines.join("\n")).toContain("mail: { smtp:")
    await moduleRef.close()
    const environment = process.env.NODE_ENV
    process.env.NODE_ENV = "production"
    try {
      await expect(Test.createTestingModule({ imports: [LagrelloModule.forRoot(withoutMail)] }).compile()).rejects.toMatchObject({
        _tag: "StartupError",
        reason: "Mail",
        message: expect.stringMatching(/NODE_ENV=production/)
      })
      // Asked for explicitly, the development mailbox is allowed there too.
      const explicit = await Test.createTestingModule({
        imports: [LagrelloModule.forRoot({ ...withoutMail, mail: { development: true } })]
      }).compile()
      await explicit.close()
    } finally {
      process.env.NODE_ENV = environment
    }
  })

  it("a misconfigured module fails at start with a clear error", async () => {
    await expect(
      Test.createTestingModule({ imports: [LagrelloModule.forRoot(options({ encryptionKeys: "too-short" }))] }).compile()
    ).rejects.toThrow(/encryptionKeys/)
  })
})
