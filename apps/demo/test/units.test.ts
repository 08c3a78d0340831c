/** The demo's small parts: HTML escaping, the mailbox page, the key file, the health answer. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { MailboxEntry } from "@lagrello/core"
import type { LagrelloService } from "@lagrello/nest"
import { afterEach, describe, expect, it } from "vitest"
import { HealthController } from "../src/http/health.controller.js"
import { escapeHtml } from "../src/http/html.js"
import { renderMailbox } from "../src/http/mailbox.controller.js"
import { ensureKeyFile, KeyFileError } from "../src/keyfile.js"
import { announceToken } from "../src/tenant-bootstrap.js"

describe("escapeHtml", () => {
  it("escapes every character that matters in content and attributes", () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe("&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;")
  })
})

describe("the mailbox page", () => {
  const entry = (createdAt: number, to: string, subject: string, link: string): MailboxEntry => ({
    id: `m${createdAt}`,
    createdAt,
    expiresAt: createdAt + 600_000,
    status: "pending",
    message: { to, subject, text: `Sign in:\n\n${link}\n`, html: "<p>ignored</p>" }
  })

  it("lists messages newest first, with their links, escaped", () => {
    const html = renderMailbox(
      [
        entry(1_000, "old@example.test", "Old", "https://a.example/login/old"),
        entry(2_000, `x"><script>alert(1)</script>@example.test`, `<img src=x onerror=alert(1)>`, `https://a.example/login/"><script>`)
      ],
      601_500
    )
    expect(html).not.toContain("<script>")
    expect(html).not.toContain("<img")
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;")
    expect(html.indexOf("&lt;img")).toBeLessThan(html.indexOf("Old"))
    expect(html).toContain('<a href="https://a.example/login/old" rel="noreferrer">')
    // The older one expired at 601 000, the newer one has not.
    expect(html.match(/<td>expired<\/td>/g)).toHaveLength(1)
  })

  it("says when there is no message", () => {
    expect(renderMailbox([], 0)).toContain("No messages yet")
  })
})

describe("the key file", () => {
  let dir: string
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it("is created once with mode 0600 and read back", () => {
    dir = mkdtempSync(join(tmpdir(), "lagrello-demo-key-"))
    const path = join(dir, "data", "lagrello.key")
    const db = join(dir, "data", "lagrello.db")
    const first = ensureKeyFile(path, db)
    expect(first.created).toBe(true)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(Buffer.from(first.keys, "base64")).toHaveLength(32)
    writeFileSync(db, "")
    const second = ensureKeyFile(path, db)
    expect(second).toEqual({ keys: first.keys, created: false, warning: undefined })
    chmodSync(path, 0o644)
    expect(ensureKeyFile(path, db).warning).toMatch(/chmod 600/)
  })

  it("is never generated for an existing database, and must hold a valid key", () => {
    dir = mkdtempSync(join(tmpdir(), "lagrello-demo-key-"))
    const path = join(dir, "lagrello.key")
    const db = join(dir, "lagrello.db")
    writeFileSync(db, "")
    expect(() => ensureKeyFile(path, db)).toThrow(KeyFileError)
    expect(() => ensureKeyFile(path, db)).toThrow(/^LAGRELLO_ENCRYPTION_KEY: /)
    writeFileSync(path, "not a key\n", { mode: 0o600 })
    expect(() => ensureKeyFile(path, db)).toThrow(/holds no valid key/)
    expect(readFileSync(path, "utf8")).toBe("not a key\n")
  })
})

describe("the generated access token", () => {
  it("is announced with its tenant", () => {
    const token = "lgr_" + "x".repeat(43)
    const text = announceToken("Acme", token)
    expect(text).toContain(`    ${token}\n`)
    expect(text).toContain('"Acme"')
  })
})

describe("GET /health", () => {
  const response = () => {
    const r = { code: 200, status: (c: number) => (r.code = c) }
    return r
  }
  it("is 200 when the database answers", async () => {
    const service = { run: async () => undefined } as unknown as LagrelloService
    const r = response()
    expect(await new HealthController(service).health(r)).toEqual({ status: "ok" })
    expect(r.code).toBe(200)
  })
  it("is 503 Unavailable when it does not", async () => {
    const service = { run: () => Promise.reject(new Error("SQLITE_CANTOPEN")) } as unknown as LagrelloService
    const r = response()
    expect(await new HealthController(service).health(r)).toEqual({
      errorType: "Unavailable",
      message: "The database is not reachable"
    })
    expect(r.code).toBe(503)
  })
})
