/**
 * Invalid configuration stops the start: exit code 1 and one line naming the variable, no stack
 * trace, nothing created.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runDemo, startDemo } from "./support/server.js"

let cwd: string
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), "lagrello-demo-invalid-"))
})
afterAll(() => rmSync(cwd, { recursive: true, force: true }))

describe("invalid configuration", () => {
  it.each([
    ["PORT", { PORT: "abc" }],
    ["PORT", { PORT: "70000" }],
    ["LAGRELLO_ENCRYPTION_KEY", { LAGRELLO_ENCRYPTION_KEY: "short" }],
    ["LAGRELLO_ACCESS_TOKEN", { LAGRELLO_ACCESS_TOKEN: "too-short-secret-value" }],
    ["DATABASE_URL", { DATABASE_URL: "postgres://user:secret-password@db.example.test/lagrello" }],
    ["DATABASE_URL", { DATABASE_URL: "mysql://localhost/x" }],
    ["SMTP_URL", { SMTP_URL: "http://user:secret-password@mail.example.test" }],
    ["LAGRELLO_CALLBACK_URL", { LAGRELLO_CALLBACK_URL: "https://app.example.test/login" }],
    ["PUBLIC_URL", { PUBLIC_URL: "not a url" }],
    ["LAGRELLO_ADAPTER", { LAGRELLO_ADAPTER: "koa" }],
    ["PUBLIC_URL", { HOST: "0.0.0.0" }],
    ["PUBLIC_URL", { HOST: "::" }],
    ["LAGRELLO_DEV_MAILBOX", { LAGRELLO_DEV_MAILBOX: "yes" }]
  ] as const)("%s: %j exits 1 with one line naming the variable", async (variable, env) => {
    const result = await runDemo({ ...env }, { cwd })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe("")
    const lines = result.stderr.trimEnd().split("\n")
    expect(lines, result.stderr).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: ${variable}: `))
    expect(result.stderr).not.toMatch(/\bat .*\.js:\d+/)
    expect(result.stderr).not.toContain("secret")
    expect(result.stderr).not.toContain("too-short")
    expect(existsSync(join(cwd, "data"))).toBe(false)
  })

  it("a port already in use stops the start with one line naming PORT", async () => {
    const { createServer } = await import("node:net")
    const server = createServer()
    const port = await new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port))
    )
    try {
      const dir = mkdtempSync(join(tmpdir(), "lagrello-demo-inuse-"))
      const result = await runDemo({ PORT: String(port), DATABASE_URL: `sqlite:${join(dir, "x.db")}` }, { cwd: dir })
      rmSync(dir, { recursive: true, force: true })
      expect(result.code).toBe(1)
      expect(result.stderr.trimEnd().split("\n").at(-1)).toMatch(/^PORT: /)
    } finally {
      server.close()
    }
  })

  it("another valid encryption key on an existing database stops the start with one line naming LAGRELLO_ENCRYPTION_KEY", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lagrello-demo-key-"))
    try {
      const first = Buffer.alloc(32, 1).toString("base64")
      const second = Buffer.alloc(32, 2).toString("base64")
      const env = { DATABASE_URL: `sqlite:${join(dir, "x.db")}`, LAGRELLO_ACCESS_TOKEN: "k".repeat(40) }
      const started = await startDemo({ ...env, LAGRELLO_ENCRYPTION_KEY: first }, { cwd: dir })
      expect(await started.stop()).toEqual({ code: 0, signal: null })
      const result = await runDemo({ ...env, LAGRELLO_ENCRYPTION_KEY: second }, { cwd: dir })
      expect(result.code).toBe(1)
      const last = result.stderr.trimEnd().split("\n").at(-1)!
      expect(last).toMatch(/^LAGRELLO_ENCRYPTION_KEY: The encryption keys do not match this database/)
      expect(last).toContain('"k1"')
      expect(result.stdout + result.stderr).not.toContain(first)
      expect(result.stdout + result.stderr).not.toContain(second)
      // The right key starts again; a rotated keyring that keeps it too.
      const again = await startDemo({ ...env, LAGRELLO_ENCRYPTION_KEY: first }, { cwd: dir })
      expect(await again.stop()).toEqual({ code: 0, signal: null })
      const rotated = await startDemo({ ...env, LAGRELLO_ENCRYPTION_KEY: `k2:${second},k1:${first}` }, { cwd: dir })
      expect(await rotated.stop()).toEqual({ code: 0, signal: null })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("an access token of another tenant stops the start with one line naming LAGRELLO_ACCESS_TOKEN", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lagrello-demo-other-"))
    try {
      const env = { DATABASE_URL: `sqlite:${join(dir, "x.db")}`, LAGRELLO_ACCESS_TOKEN: "o".repeat(40) }
      const first = await startDemo(env, { cwd: dir })
      expect(await first.stop()).toEqual({ code: 0, signal: null })
      const result = await runDemo({ ...env, LAGRELLO_TENANT_NAME: "Another Tenant" }, { cwd: dir })
      expect(result.code).toBe(1)
      expect(result.stderr.trimEnd().split("\n").at(-1)).toMatch(/^LAGRELLO_ACCESS_TOKEN: /)
      expect(result.stdout + result.stderr).not.toContain("o".repeat(40))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
