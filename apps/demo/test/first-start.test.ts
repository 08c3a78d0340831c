/**
 * A first start with nothing configured, in an empty working directory: the database and the
 * key file appear under ./data, the generated access token is printed once, the development
 * mailbox shows the links; a second start prints nothing about the token, which still works.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, startDemo } from "./support/server.js"

const tokenPattern = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/g

let cwd: string

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), "lagrello-demo-first-"))
})
afterAll(() => rmSync(cwd, { recursive: true, force: true }))

describe("the first start and the next ones", () => {
  let token: string
  let key: string

  it("creates ./data/lagrello.db and ./data/lagrello.key (0600) and prints the access token once", async () => {
    const demo = await startDemo({}, { cwd })
    try {
      const printed = demo.stdout().match(tokenPattern) ?? []
      expect(printed).toHaveLength(1)
      token = printed[0]!
      expect(statSync(join(cwd, "data", "lagrello.db")).isFile()).toBe(true)
      expect(statSync(join(cwd, "data", "lagrello.key")).mode & 0o777).toBe(0o600)
      key = readFileSync(join(cwd, "data", "lagrello.key"), "utf8")
      expect(Buffer.from(key.trim(), "base64")).toHaveLength(32)

      const tenant = await call(demo.url, "GET", "/v1/tenant", { token })
      expect(tenant.status, tenant.text).toBe(200)
      // The default callback URL is the demo's own confirmation page.
      expect(tenant.json).toMatchObject({ tenantName: "Lagrello Demo", callbackUrl: `${demo.url}/login/{}` })
    } finally {
      expect(await demo.stop()).toEqual({ code: 0, signal: null })
    }
  })

  it("on the next start prints nothing about the token, which still works; the dev mailbox shows links", async () => {
    const demo = await startDemo({}, { cwd })
    try {
      expect(demo.stdout()).not.toMatch(tokenPattern)
      expect(demo.stdout()).not.toContain("access token")
      expect(readFileSync(join(cwd, "data", "lagrello.key"), "utf8")).toBe(key)
      expect((await call(demo.url, "GET", "/v1/tenant", { token })).status).toBe(200)

      // The development mailbox: the message is on /dev/mailbox (escaped) and its link on the console.
      const userId = "bob"
      const created = await call(demo.url, "POST", "/v1/users", { token, body: { userId, email: "bob@example.test" } })
      expect(created.status, created.text).toBe(201)
      expect((await call(demo.url, "POST", `/v1/users/${userId}/email`, { token })).status).toBe(204)
      const page = await call(demo.url, "GET", "/dev/mailbox")
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toMatch(/^text\/html/)
      expect(page.headers.get("cache-control")).toBe("no-store")
      expect(page.headers.get("referrer-policy")).toBe("no-referrer")
      expect(page.text).toContain("bob@example.test")
      const link = new RegExp(`${demo.url}/login/([A-Za-z0-9_-]{43})`).exec(page.text)
      expect(link).not.toBeNull()
      const linkToken = link![1]!
      // Printed on the console by the development mailbox.
      for (let i = 0; i < 50 && !demo.stdout().includes(linkToken); i++) await new Promise((r) => setTimeout(r, 100))
      expect(demo.stdout()).toContain(`${demo.url}/login/${linkToken}`)

      // Opening the link shows a confirmation page and does not consume the token.
      const confirm = await call(demo.url, "GET", `/login/${linkToken}`)
      expect(confirm.status).toBe(200)
      expect(confirm.headers.get("cache-control")).toBe("no-store")
      expect(confirm.headers.get("referrer-policy")).toBe("no-referrer")
      expect(confirm.text).toContain('<form method="post"')
      const verified = await call(demo.url, "GET", `/v1/users/email?payload=${linkToken}`, { token })
      expect(verified.status, verified.text).toBe(200)
      expect(verified.json).toEqual({ userId, email: "bob@example.test" })

      const bad = await call(demo.url, "GET", "/login/not-a-token")
      expect(bad.status).toBe(400)
      expect(bad.text).not.toContain("not-a-token")
    } finally {
      // Ctrl-C stops it as cleanly as SIGTERM.
      expect(await demo.stop("SIGINT")).toEqual({ code: 0, signal: null })
    }
    // One format: every line is a JSON object (the development mailbox's line too), Nest's route
    // chatter is not printed, class names are the sources' names, and the stop is logged.
    const records = jsonLines(demo.stdout())
    const mailbox = records.find((r) => r.mailbox === "development")
    expect(mailbox).toMatchObject({ level: "info", msg: expect.stringMatching(/^Development mailbox: message to bob@example\.test: /) })
    expect(Object.keys(mailbox!).filter((k) => k === "message")).toEqual([])
    expect(records.filter((r) => /^Mapped \{/.test(String(r.msg)) || r.context === "RoutesResolver")).toEqual([])
    for (const r of records) {
      // The links' random tokens are left out: one ending in a letter and a digit is no class name.
      const text = `${String(r.context ?? "")} ${String(r.msg)}`.replace(/https?:\/\/\S+/g, "")
      expect(text).not.toMatch(/\b_[A-Z]|[a-z][2-9]\b/)
    }
    expect(records.map((r) => r.context)).toContain("NestFactory")
    expect(records).toContainEqual(expect.objectContaining({ level: "info", msg: "stopping", signal: "SIGINT" }))
    expect(records.at(-1)).toMatchObject({ msg: "stopped", exitCode: 0 })
    expect(records).toContainEqual(
      expect.objectContaining({ level: "warn", devMailbox: "served", why: "HOST is a loopback address" })
    )
  })
})

describe("the tenant's callback URL across restarts", () => {
  const env = { LAGRELLO_ACCESS_TOKEN: "c".repeat(40) }
  const token = env.LAGRELLO_ACCESS_TOKEN
  const callbackOf = async (url: string) =>
    ((await call(url, "GET", "/v1/tenant", { token })).json as { callbackUrl: string }).callbackUrl
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "lagrello-demo-callback-"))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("the default follows the demo's own address; one set with PATCH /v1/tenant stays; LAGRELLO_CALLBACK_URL wins", async () => {
    const first = await startDemo(env, { cwd: dir })
    expect(await callbackOf(first.url)).toBe(`${first.url}/login/{}`)
    await first.stop()
    // Another port: the demo's own page moves with it.
    const moved = await startDemo(env, { cwd: dir })
    expect(moved.port).not.toBe(first.port)
    expect(await callbackOf(moved.url)).toBe(`${moved.url}/login/{}`)
    const patched = await call(moved.url, "PATCH", "/v1/tenant", { token, body: { callbackUrl: "https://app.example.test/auth/{}" } })
    expect(patched.status, patched.text).toBe(200)
    await moved.stop()
    // A start without LAGRELLO_CALLBACK_URL keeps the URL set through the API.
    const kept = await startDemo(env, { cwd: dir })
    expect(await callbackOf(kept.url)).toBe("https://app.example.test/auth/{}")
    await kept.stop()
    const configured = await startDemo({ ...env, LAGRELLO_CALLBACK_URL: "https://other.example.test/in/{}" }, { cwd: dir })
    expect(await callbackOf(configured.url)).toBe("https://other.example.test/in/{}")
    await configured.stop()
  })
})

/** The lines of standard output as JSON objects; fails on a line that is not one. */
const jsonLines = (stdout: string): Array<Record<string, unknown>> =>
  stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const record = JSON.parse(line) as Record<string, unknown>
      expect(Object.keys(record).slice(0, 3)).toEqual(["time", "level", "msg"])
      return record
    })
