/** The demo's small parts: HTML escaping, the mailbox page, the key file, the health answer. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { spawn } from "node:child_process"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { MailboxEntry } from "@lagrello/core"
import type { LagrelloService } from "@lagrello/nest"
import { afterEach, describe, expect, it } from "vitest"
import { HealthController } from "../src/http/health.controller.js"
import { escapeHtml } from "../src/http/html.js"
import { renderMailbox } from "../src/http/mailbox.controller.js"
import { DataLockError, lockData } from "../src/data-lock.js"
import { effectLogger, sourceName } from "../src/logger.js"
import { Effect, Logger } from "effect"
import { clientKey, SignInThrottle } from "../src/web/throttle.js"
import { ensureKeyFile, KeyFileError } from "../src/keyfile.js"
import { announceToken } from "../src/tenant-bootstrap.js"
import { collectionDue } from "../src/memory.js"

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
    // The older one expired at 601 000 (shown, not linked), the newer one has not.
    expect(html).not.toContain('<a href="https://a.example/login/old"')
    expect(html.match(/<td class="state">expired<\/td>/g)).toHaveLength(1)
    expect(html).toContain("waiting for delivery; works until 1970-01-01 00:10:02 UTC unless it was used")
  })

  it("shows a link superseded by a newer one to the same address, failed and delivered ones, and never a dead link as a link", () => {
    const older = entry(1_000, "Ann@example.test", "First", "https://a.example/login/first")
    const newer = { ...entry(2_000, "ann@example.test", "Second", "https://a.example/login/second"), status: "sent" as const }
    const failed = { ...entry(3_000, "bob@example.test", "Failed", "https://a.example/login/failed"), status: "failed" as const }
    const html = renderMailbox([older, newer, failed], 10_000)
    expect(html).toContain("superseded: a newer link was sent to this address")
    expect(html).toContain("failed: not delivered")
    expect(html).toContain("delivered; works until")
    expect(html).toContain('<a href="https://a.example/login/second" rel="noreferrer">')
    expect(html).not.toContain('<a href="https://a.example/login/first"')
    expect(html).not.toContain('<a href="https://a.example/login/failed"')
    expect(html).toContain("cannot tell whether one was used")
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
    const token = "0b7c8f4e-3d2a-4e6f-9a1b-5c7d9e0f1a2b"
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
    expect(await new HealthController(service).health(r)).toEqual({ status: "ok", version: expect.stringMatching(/^\d+\.\d+\.\d+/) })
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
  it("has a liveness answer that never asks the database", () => {
    const service = { run: () => Promise.reject(new Error("must not be called")) } as unknown as LagrelloService
    expect(new HealthController(service).live()).toEqual({ status: "ok", version: expect.stringMatching(/^\d+\.\d+\.\d+/) })
  })
})

describe("the sign-in throttle", () => {
  const limits = { perAddress: 3, perAddressWindowMillis: 60_000, total: 5, totalWindowMillis: 10_000, maxAddresses: 4 }

  it("limits each client address, then all together, and says when to retry", () => {
    const throttle = new SignInThrottle(limits)
    for (let i = 0; i < 3; i++) expect(throttle.take("192.0.2.1", 1_000 + i).ok).toBe(true)
    expect(throttle.take("192.0.2.1", 2_000)).toEqual({ ok: false, retryAfterSeconds: 59 })
    expect(throttle.take("192.0.2.2", 2_000).ok).toBe(true)
    expect(throttle.take("192.0.2.3", 2_000).ok).toBe(true)
    // Five in ten seconds in total.
    expect(throttle.take("192.0.2.4", 3_000)).toEqual({ ok: false, retryAfterSeconds: 8 })
    expect(throttle.take("192.0.2.4", 11_001).ok).toBe(true)
    // The per-address window still holds the first address.
    expect(throttle.take("192.0.2.1", 20_000).ok).toBe(false)
    expect(throttle.take("192.0.2.1", 61_001).ok).toBe(true)
  })

  it("counts IPv6 clients per /64 and IPv4-mapped ones as IPv4", () => {
    expect(clientKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64")
    expect(clientKey("2001:0db8:0001:0002:ffff:1:2:3")).toBe("2001:db8:1:2::/64")
    expect(clientKey("::1")).toBe("0:0:0:0::/64")
    expect(clientKey("::ffff:127.0.0.1")).toBe("127.0.0.1")
    expect(clientKey(undefined)).toBe("unknown")
    const throttle = new SignInThrottle({ ...limits, total: 100 })
    for (let i = 0; i < 3; i++) expect(throttle.take(`2001:db8:1:2::${i + 1}`, 1_000).ok).toBe(true)
    expect(throttle.take("2001:db8:1:2::99", 1_000).ok).toBe(false)
  })

  it("tracks a bounded number of addresses", () => {
    const throttle = new SignInThrottle({ ...limits, total: 1_000 })
    for (let i = 0; i < 50; i++) throttle.take(`198.51.100.${i}`, 1_000)
    expect(throttle.size).toBeLessThanOrEqual(4)
  })
})

describe("class names in the bundle's logs", () => {
  it("are the sources' names", () => {
    expect(sourceName("HealthController2")).toBe("HealthController")
    expect(sourceName("_InstanceLoader")).toBe("InstanceLoader")
    expect(sourceName("NestFactory")).toBe("NestFactory")
    expect(sourceName("Http2Adapter")).toBe("Http2Adapter")
  })
})

describe("the lock on the SQLite data", () => {
  let dir: string
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it("is taken, refused while its process runs, and taken over from a process that is gone", async () => {
    dir = mkdtempSync(join(tmpdir(), "lagrello-lock-"))
    const db = join(dir, "data", "x.db")
    expect(lockData(db)).toBe(`${db}.lock`)
    expect(readFileSync(`${db}.lock`, "utf8")).toBe(`${process.pid}\n`)
    // Held by a running node process: refused, naming it.
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"])
    await new Promise((r) => holder.once("spawn", r))
    writeFileSync(`${db}.lock`, `${holder.pid}\n`)
    expect(() => lockData(db)).toThrow(DataLockError)
    expect(() => lockData(db)).toThrow(new RegExp(`in use by another demo \\(pid ${holder.pid},`))
    holder.kill("SIGKILL")
    await new Promise((r) => holder.once("exit", r))
    // Gone: taken over.
    expect(lockData(db)).toBe(`${db}.lock`)
    expect(readFileSync(`${db}.lock`, "utf8")).toBe(`${process.pid}\n`)
  })
})

describe("the core's log lines (effectLogger)", () => {
  it("carry the trace and span ids of the span they are written in, and none outside a span", async () => {
    const written: Array<string> = []
    const write = process.stdout.write.bind(process.stdout)
    process.stdout.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    }) as typeof process.stdout.write
    let ids: { traceId: string; spanId: string } | undefined
    try {
      Effect.runSync(
        Effect.gen(function*() {
          yield* Effect.logInfo("outside")
          yield* Effect.gen(function*() {
            const span = yield* Effect.currentSpan
            ids = { traceId: span.traceId, spanId: span.spanId }
            yield* Effect.logInfo("inside")
          }).pipe(Effect.withSpan("Lagrello.Test.span"))
        }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, effectLogger)))
      )
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.stdout.write = write
    }
    const lines = written.join("").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>)
    const outside = lines.find((l) => l.msg === "outside")
    const inside = lines.find((l) => l.msg === "inside")
    expect(outside).toBeDefined()
    expect(outside!.traceId).toBeUndefined()
    expect(ids?.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(inside).toMatchObject({ level: "info", traceId: ids!.traceId, spanId: ids!.spanId })
  })
})


describe("garbage collection when quiet", () => {
  const MB = 1024 * 1024
  const reading = { quietSeconds: 2, heapBytes: 90 * MB, afterLastBytes: 40 * MB, youngBytes: 2 * MB }

  it("collects once the event loop has been quiet for two readings and the heap has grown", () => {
    expect(collectionDue(reading)).toBe(true)
    expect(collectionDue({ ...reading, quietSeconds: 1 })).toBe(false)
    expect(collectionDue({ ...reading, quietSeconds: 0 })).toBe(false)
    expect(collectionDue({ ...reading, heapBytes: 45 * MB })).toBe(false)
    // the first reading after start: nothing collected yet
    expect(collectionDue({ ...reading, afterLastBytes: 0, heapBytes: 46 * MB })).toBe(true)
  })

  it("collects at 6, 9 and 12 quiet seconds while the young generation is grown, so that V8 can shrink it", () => {
    const settled = { ...reading, heapBytes: 41 * MB, youngBytes: 32 * MB }
    const due = Array.from({ length: 20 }, (_, quietSeconds) => quietSeconds).filter((quietSeconds) =>
      collectionDue({ ...settled, quietSeconds })
    )
    expect(due).toEqual([6, 9, 12])
    expect(collectionDue({ ...settled, quietSeconds: 6, youngBytes: 2 * MB })).toBe(false)
  })

  it("returns a quiet process's garbage (a real collection in a child process)", async () => {
    const memory = new URL("../dist/memory.js", import.meta.url).href
    // A few hundred MB held, then dropped and the process left quiet: the watcher (every 100 ms
    // here, its start-up collection out of the way) collects.
    const script = `
      import { getHeapStatistics } from "node:v8"
      const { collectGarbageWhenQuiet } = await import(${JSON.stringify(memory)})
      let held = Array.from({ length: 600 }, () => new Array(12_500).fill(0).map((_, i) => ({ i })))
      const before = getHeapStatistics().total_heap_size
      held = undefined
      collectGarbageWhenQuiet({ intervalMillis: 100, startupMillis: 60_000 })
      setTimeout(() => console.log(JSON.stringify({ before, after: getHeapStatistics().total_heap_size })), 1500)
    `
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()))
    await new Promise((resolve) => child.on("exit", resolve))
    const { after, before } = JSON.parse(out) as { before: number; after: number }
    expect(before).toBeGreaterThan(100 * MB)
    expect(after).toBeLessThan(before / 2)
  })
})
