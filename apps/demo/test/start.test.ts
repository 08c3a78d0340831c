/**
 * What a start decides and says: the lock on the SQLite data (a second demo on the same data is
 * refused with one line naming the process that holds it, a stale lock is taken over, the lock
 * goes with the process), and whether the development mailbox is served (only on a loopback
 * HOST, or with LAGRELLO_DEV_MAILBOX=1), said on the start-up line.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, runDemo, startDemo } from "./support/server.js"

const encryptionKey = Buffer.alloc(32, 3).toString("base64")

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lagrello-demo-start-"))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const records = (stdout: string) =>
  stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)

describe("the lock on the SQLite data", () => {
  it("refuses a second start on the same data with one line naming the holder, and is released on stop", async () => {
    const db = join(dir, "locked.db")
    const env = { DATABASE_URL: `sqlite:${db}`, LAGRELLO_ENCRYPTION_KEY: encryptionKey }
    const first = await startDemo(env, { cwd: dir })
    try {
      expect(readFileSync(`${db}.lock`, "utf8")).toBe(`${first.child.pid}\n`)
      const second = await runDemo(env, { cwd: dir })
      expect(second.code).toBe(1)
      const lines = second.stderr.trimEnd().split("\n")
      expect(lines, second.stderr).toHaveLength(1)
      expect(lines[0]).toContain(`DATABASE_URL: the SQLite database ${db} is in use by another demo (pid ${first.child.pid}`)
      // The first one is untouched.
      expect((await call(first.url, "GET", "/health")).status).toBe(200)
      expect(readFileSync(`${db}.lock`, "utf8")).toBe(`${first.child.pid}\n`)
    } finally {
      expect(await first.stop()).toEqual({ code: 0, signal: null })
    }
    expect(existsSync(`${db}.lock`)).toBe(false)
  })

  it("takes over the lock of a process that no longer runs", async () => {
    const db = join(dir, "stale.db")
    const gone = spawn(process.execPath, ["-e", ""])
    const pid = gone.pid!
    await new Promise((r) => gone.once("exit", r))
    writeFileSync(`${db}.lock`, `${pid}\n`)
    const demo = await startDemo({ DATABASE_URL: `sqlite:${db}`, LAGRELLO_ENCRYPTION_KEY: encryptionKey }, { cwd: dir })
    try {
      expect(readFileSync(`${db}.lock`, "utf8")).toBe(`${demo.child.pid}\n`)
    } finally {
      await demo.stop()
    }
  })
})

describe("the development mailbox", () => {
  it("is not served when HOST is not a loopback address, and the start-up line says so", async () => {
    const demo = await startDemo(
      { HOST: "0.0.0.0", PUBLIC_URL: "http://127.0.0.1:1", DATABASE_URL: `sqlite:${join(dir, "open.db")}`, LAGRELLO_ENCRYPTION_KEY: encryptionKey },
      { cwd: dir }
    )
    try {
      expect((await call(demo.url, "GET", "/dev/mailbox")).status).toBe(404)
      expect(records(demo.stdout())).toContainEqual(
        expect.objectContaining({
          level: "warn",
          msg: "no SMTP_URL: development mailbox; links are printed here, /dev/mailbox is not served",
          devMailbox: "not served",
          why: "HOST is not a loopback address; LAGRELLO_DEV_MAILBOX=1 serves it anyway"
        })
      )
      // The sign-in page does not point to it either.
      const home = await fetch(`${demo.url}/`)
      const cookie = home.headers.getSetCookie()[0]!.split(";")[0]!
      const csrf = /name="csrf" value="([^"]+)"/.exec(await home.text())![1]!
      const sent = await fetch(`${demo.url}/signin`, {
        method: "POST",
        headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ csrf, email: "open@example.test" }).toString()
      })
      expect(sent.status).toBe(200)
      expect(await sent.text()).not.toContain("/dev/mailbox")
    } finally {
      await demo.stop()
    }
  })

  it("is served on any HOST with LAGRELLO_DEV_MAILBOX=1, and the start-up line says why", async () => {
    const demo = await startDemo(
      {
        HOST: "0.0.0.0",
        PUBLIC_URL: "http://127.0.0.1:1",
        LAGRELLO_DEV_MAILBOX: "1",
        DATABASE_URL: `sqlite:${join(dir, "forced.db")}`,
        LAGRELLO_ENCRYPTION_KEY: encryptionKey
      },
      { cwd: dir }
    )
    try {
      expect((await call(demo.url, "GET", "/dev/mailbox")).status).toBe(200)
      expect(records(demo.stdout())).toContainEqual(
        expect.objectContaining({ level: "warn", devMailbox: "served", why: "LAGRELLO_DEV_MAILBOX=1" })
      )
    } finally {
      await demo.stop()
    }
  })
})

describe("the sign-in form's CSRF token", () => {
  /** The form cookie and token of the sign-in page. */
  const form = async (url: string) => {
    const home = await fetch(`${url}/`)
    return { cookie: home.headers.getSetCookie()[0]!.split(";")[0]!, csrf: /name="csrf" value="([^"]+)"/.exec(await home.text())![1]! }
  }
  const post = (url: string, { cookie, csrf }: { cookie: string; csrf: string }) =>
    fetch(`${url}/signin`, {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf, email: "restart@example.test" }).toString()
    }).then(async (r) => ({ status: r.status, text: await r.text() }))

  it("survives a restart (its key derives from the encryption key), and not a new encryption key", async () => {
    const db = `sqlite:${join(dir, "forms.db")}`
    const before = await startDemo({ DATABASE_URL: db, LAGRELLO_ENCRYPTION_KEY: encryptionKey }, { cwd: dir })
    const opened = await form(before.url)
    await before.stop()
    const after = await startDemo({ DATABASE_URL: db, LAGRELLO_ENCRYPTION_KEY: encryptionKey }, { cwd: dir })
    try {
      expect((await post(after.url, opened)).status).toBe(200)
    } finally {
      await after.stop()
    }
    const other = Buffer.alloc(32, 4).toString("base64")
    const rotated = await startDemo({ DATABASE_URL: db, LAGRELLO_ENCRYPTION_KEY: `k2:${other},k1:${encryptionKey}` }, { cwd: dir })
    try {
      const refused = await post(rotated.url, opened)
      expect(refused.status).toBe(403)
      expect(refused.text).toContain("This form has expired")
    } finally {
      await rotated.stop()
    }
  })
})
