/**
 * The sign-in pages without a browser: the built demo (development mailbox), on both adapters.
 * Mail scanners fetch links (HEAD, GET): that must leave the link usable; only the confirmation
 * POST, with the session's CSRF token, consumes it. Headers and cookie attributes of SPEC 3.6.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RunningDemo } from "./support/server.js"
import { startDemo } from "./support/server.js"
import { base32Decode, totpAt } from "@lagrello/core"
import type { DemoConfig } from "../src/config.js"
import { escapeHtml } from "../src/http/html.js"
import { cookieValue, SessionStore } from "../src/web/session.js"

/** A minimal browser: a cookie jar, form posts, no redirects followed. */
interface Page {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

class WebClient {
  private readonly cookies = new Map<string, string>()

  constructor(readonly base: string) {}

  async request(method: string, path: string, form?: Record<string, string>): Promise<Page> {
    const headers: Record<string, string> = {}
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ")
    if (form !== undefined) headers["content-type"] = "application/x-www-form-urlencoded"
    const response = await fetch(this.base + path, {
      method,
      headers,
      redirect: "manual",
      ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() })
    })
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";")
      const eq = pair!.indexOf("=")
      const name = pair!.slice(0, eq)
      const value = pair!.slice(eq + 1)
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return { status: response.status, headers: response.headers, text: await response.text() }
  }

  get = (path: string) => this.request("GET", path)
  post = (path: string, form: Record<string, string>) => this.request("POST", path, form)
}

/** The CSRF token of the (first) form of a page. */
const csrfOf = (page: Page): string => {
  const match = /name="csrf" value="([^"]+)"/.exec(page.text)
  if (match === null) throw new Error(`No CSRF field in:\n${page.text}`)
  return match[1]!
}

/** The newest sign-in link to `email` on the development mailbox page. */
const mailboxLink = async (base: string, email: string): Promise<string> => {
  const html = await (await fetch(`${base}/dev/mailbox`)).text()
  const row = html.split("<tr>").find((r) => r.includes(`<td>${escapeHtml(email)}</td>`))
  const link = row === undefined ? null : /href="([^"]*\/login\/[^"]+)"/.exec(row)
  if (link === null) throw new Error(`No link to ${email} on the mailbox page:\n${html}`)
  return link[1]!.replace(/&amp;/g, "&")
}

const encryptionKey = Buffer.alloc(32, 9).toString("base64")

const signIn = async (client: WebClient, email: string): Promise<string> => {
  const home = await client.get("/")
  expect(home.status).toBe(200)
  const sent = await client.post("/signin", { csrf: csrfOf(home), email })
  expect(sent.status, sent.text).toBe(200)
  expect(sent.text).toContain("Check your mail")
  return new URL(await mailboxLink(client.base, email.trim().toLowerCase())).pathname
}

describe("the session cookie", () => {
  it("is Secure when PUBLIC_URL is https, and is cleared with Max-Age=0", () => {
    const secure = new SessionStore({ publicUrl: "https://demo.example" } as DemoConfig)
    const session = secure.create()
    expect(secure.cookie(session)).toBe(`lagrello_demo_session=${session.id}; HttpOnly; SameSite=Lax; Path=/; Secure`)
    expect(secure.cookie(undefined)).toBe("lagrello_demo_session=; Max-Age=0; HttpOnly; SameSite=Lax; Path=/; Secure")
    const plain = new SessionStore({ publicUrl: "http://127.0.0.1:3000" } as DemoConfig)
    expect(plain.cookie(plain.create())).not.toContain("Secure")
    expect(secure.find(`other=1; lagrello_demo_session=${session.id}`)).toBe(session)
    secure.remove(session)
    expect(secure.find(`lagrello_demo_session=${session.id}`)).toBeUndefined()
    expect(cookieValue("a=1; b=2", "b")).toBe("2")
  })
})

describe.each(["fastify", "express"] as const)("the sign-in pages (%s)", (adapter) => {
  let demo: RunningDemo
  let dir: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lagrello-demo-web-"))
    demo = await startDemo(
      { DATABASE_URL: `sqlite:${join(dir, "web.db")}`, LAGRELLO_ENCRYPTION_KEY: encryptionKey, LAGRELLO_ADAPTER: adapter },
      { cwd: dir }
    )
  })

  afterAll(async () => {
    await demo?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it("a HEAD and three GETs of a magic link leave it usable; the POST then signs in, once", async () => {
    const client = new WebClient(demo.url)
    const path = await signIn(client, "  Scanner@Example.TEST ")
    const head = await fetch(demo.url + path, { method: "HEAD" })
    expect(head.status).toBe(200)
    for (let i = 0; i < 3; i++) {
      const scanned = await fetch(demo.url + path)
      expect(scanned.status).toBe(200)
      expect(await scanned.text()).toContain("Confirm to sign in")
    }
    const confirm = await client.get(path)
    expect(confirm.status).toBe(200)
    expect(confirm.headers.get("cache-control")).toBe("no-store")
    expect(confirm.headers.get("referrer-policy")).toBe("no-referrer")
    const signedIn = await client.post(path, { csrf: csrfOf(confirm) })
    expect(signedIn.status, signedIn.text).toBe(303)
    expect(signedIn.headers.get("location")).toBe("/account")
    const account = await client.get("/account")
    expect(account.status).toBe(200)
    expect(account.text).toContain("scanner@example.test")

    const again = new WebClient(demo.url)
    const reused = await again.post(path, { csrf: csrfOf(await again.get(path)) })
    expect(reused.status).toBe(410)
    expect(reused.text).toContain("expired or was already used")
    expect(reused.text).toContain('href="/"')
  })

  it("refuses a POST without the session's CSRF token and keeps the link", async () => {
    const client = new WebClient(demo.url)
    const path = await signIn(client, "csrf@example.test")
    const confirm = await client.get(path)
    expect((await client.post(path, {})).status).toBe(403)
    expect((await client.post(path, { csrf: "x".repeat(43) })).status).toBe(403)
    // Another browser's token (a cross-site form has no cookie of ours) is refused too.
    const other = new WebClient(demo.url)
    expect((await other.post(path, { csrf: csrfOf(confirm) })).status).toBe(403)
    expect((await client.post(path, { csrf: csrfOf(confirm) })).status).toBe(303)
  })

  it("sends the security headers and a HttpOnly, SameSite=Lax session cookie", async () => {
    const home = await fetch(`${demo.url}/`)
    expect(home.headers.get("content-security-policy")).toContain(
      "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    )
    expect(home.headers.get("x-content-type-options")).toBe("nosniff")
    expect(home.headers.get("referrer-policy")).toBe("no-referrer")
    const cookie = home.headers.getSetCookie()[0] ?? ""
    expect(cookie).toMatch(/^lagrello_demo_session=[\w-]{43}; /)
    expect(cookie).toContain("HttpOnly")
    expect(cookie).toContain("SameSite=Lax")
    expect(cookie).toContain("Path=/")
    expect(cookie).not.toContain("Secure")
    const css = await fetch(`${demo.url}/web/style.css`)
    expect(css.status).toBe(200)
    expect(css.headers.get("content-type")).toMatch(/^text\/css/)
    await css.text()
  })

  it("answers the same page for any address, and a page for an invalid one", async () => {
    const client = new WebClient(demo.url)
    const home = await client.get("/")
    const first = await client.post("/signin", { csrf: csrfOf(home), email: "same@example.test" })
    const second = await client.post("/signin", { csrf: csrfOf(home), email: "same@example.test" })
    expect(second.text).toBe(first.text)
    const invalid = await client.post("/signin", { csrf: csrfOf(home), email: "not an address" })
    expect(invalid.status).toBe(400)
    expect(invalid.text).toContain("Enter a valid e-mail address")
    expect((await client.get("/account")).headers.get("location")).toBe("/")
  })

  it("with an authenticator on, the link leads to the code page; only a right code signs in, once", async () => {
    const client = new WebClient(demo.url)
    const email = "totp@example.test"
    const first = await signIn(client, email)
    expect((await client.post(first, { csrf: csrfOf(await client.get(first)) })).status).toBe(303)
    const account = await client.get("/account")
    expect((await client.post("/account/totp/setup", { csrf: csrfOf(account) })).headers.get("location")).toBe("/account/totp")
    const setup = await client.get("/account/totp")
    expect(setup.text).toMatch(/<img class="qr" src="data:image\/png;base64,/)
    const secret = base32Decode(/id="totp-secret">([A-Z2-7]+)</.exec(setup.text)![1]!)!
    const enrolment = totpAt(secret, Date.now())
    const on = await client.post("/account/totp/confirm", { csrf: csrfOf(setup), code: enrolment })
    expect(on.status, on.text).toBe(303)
    expect((await client.get("/account")).text).toContain('<strong id="totp-status">on</strong>')
    expect((await client.post("/signout", { csrf: csrfOf(account) })).headers.get("location")).toBe("/")

    const second = await signIn(client, email)
    const confirmed = await client.post(second, { csrf: csrfOf(await client.get(second)) })
    expect(confirmed.status).toBe(303)
    expect(confirmed.headers.get("location")).toBe("/signin/code")
    expect((await client.get("/account")).headers.get("location")).toBe("/")
    const codePage = await client.get("/signin/code")
    const replayed = await client.post("/signin/code", { csrf: csrfOf(codePage), code: enrolment })
    expect(replayed.status).toBe(401)
    const right = await client.post("/signin/code", { csrf: csrfOf(codePage), code: totpAt(secret, Date.now() + 30_000) })
    expect(right.status, right.text).toBe(303)
    expect(right.headers.get("location")).toBe("/account")
    expect((await client.get("/account")).text).toContain(email)
  })
})
