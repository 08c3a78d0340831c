/**
 * The sign-in pages without a browser: the built demo (development mailbox), on both adapters.
 * Mail scanners fetch links (HEAD, GET): that must leave the link usable; only the confirmation
 * POST, with the form's CSRF token, consumes it. Headers and cookie attributes of SPEC 3.6;
 * sessions only after sign-in; the sign-in throttle; a current code to replace or turn off the
 * authenticator.
 */
import { request as httpRequest } from "node:http"
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

// Each client connects from its own loopback address (all of 127.0.0.0/8 is on lo), so that the
// per-address sign-in throttle counts each test's requests apart.
let nextAddress = 10
const newLocalAddress = () => `127.0.0.${nextAddress++ % 250 + 2}`

class WebClient {
  private readonly cookies = new Map<string, string>()

  constructor(
    readonly base: string,
    readonly localAddress: string = newLocalAddress()
  ) {}

  request(method: string, path: string, form?: Record<string, string>): Promise<Page> {
    const headers: Record<string, string> = {}
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ")
    const body = form === undefined ? undefined : new URLSearchParams(form).toString()
    if (body !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded"
      headers["content-length"] = String(Buffer.byteLength(body))
    }
    const url = new URL(this.base + path)
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, localAddress: this.localAddress, agent: false },
        (res) => {
          let text = ""
          res.setEncoding("utf8").on("data", (c: string) => (text += c))
          res.on("end", () => {
            const answer = new Headers()
            for (const [name, value] of Object.entries(res.headers)) {
              for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) answer.append(name, v)
            }
            for (const line of answer.getSetCookie()) {
              const [pair] = line.split(";")
              const eq = pair!.indexOf("=")
              const name = pair!.slice(0, eq)
              const value = pair!.slice(eq + 1)
              if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name)
              else this.cookies.set(name, value)
            }
            resolve({ status: res.statusCode ?? 0, headers: answer, text })
          })
        }
      )
      req.on("error", reject)
      req.end(body)
    })
  }

  get = (path: string) => this.request("GET", path)
  post = (path: string, form: Record<string, string>) => this.request("POST", path, form)
  cookieNames = () => [...this.cookies.keys()]
}

/** The secret shown on the set-up page, as copying it gives it (the groups' text, without markup). */
const secretOf = (page: Page): string => {
  const shown = /id="totp-secret">(.*?)<\/code>/.exec(page.text)?.[1]
  if (shown === undefined) throw new Error(`No secret on the page:\n${page.text}`)
  return shown.replace(/<[^>]+>/g, "")
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

  it("sends the security headers; an anonymous visitor gets only the form cookie, a session starts at sign-in", async () => {
    const home = await fetch(`${demo.url}/`)
    expect(home.headers.get("content-security-policy")).toContain(
      "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    )
    expect(home.headers.get("x-content-type-options")).toBe("nosniff")
    expect(home.headers.get("referrer-policy")).toBe("no-referrer")
    expect(home.headers.getSetCookie()).toHaveLength(1)
    const cookie = home.headers.getSetCookie()[0] ?? ""
    expect(cookie).toMatch(/^lagrello_demo_form=[\w-]{43}; HttpOnly; SameSite=Lax; Path=\/$/)
    const client = new WebClient(demo.url)
    const path = await signIn(client, "cookie@example.test")
    expect(client.cookieNames()).toEqual(["lagrello_demo_form"])
    const confirm = await client.get(path)
    expect(confirm.headers.getSetCookie()).toEqual([])
    const signedIn = await client.post(path, { csrf: csrfOf(confirm) })
    const session = signedIn.headers.getSetCookie()[0] ?? ""
    expect(session).toMatch(/^lagrello_demo_session=[\w-]{43}; /)
    expect(session).toContain("HttpOnly")
    expect(session).toContain("SameSite=Lax")
    expect(session).toContain("Path=/")
    expect(session).not.toContain("Secure")
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
    // Shown in groups of four; copied, it is the secret as one word.
    expect(setup.text).toMatch(/id="totp-secret">(<span>[A-Z2-7]{4}<\/span>){8}<\/code>/)
    const secretKey = secretOf(setup)
    expect(secretKey).toMatch(/^[A-Z2-7]{32}$/)
    const secret = base32Decode(secretKey)!
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
    // The code the app still shows was used a moment ago: the page says to wait for the next one.
    const replayed = await client.post("/signin/code", { csrf: csrfOf(codePage), code: enrolment })
    expect(replayed.status).toBe(401)
    expect(replayed.text).toContain("wait for the next code in your app (a new one every 30 seconds)")
    const right = await client.post("/signin/code", { csrf: csrfOf(codePage), code: totpAt(secret, Date.now() + 30_000) })
    expect(right.status, right.text).toBe(303)
    expect(right.headers.get("location")).toBe("/account")
    expect((await client.get("/account")).text).toContain(email)
  })

  /** Signs in a new user and turns an authenticator on with the code of the step before this one. */
  const withAuthenticator = async (email: string) => {
    const client = new WebClient(demo.url)
    const link = await signIn(client, email)
    expect((await client.post(link, { csrf: csrfOf(await client.get(link)) })).status).toBe(303)
    const account = await client.get("/account")
    expect((await client.post("/account/totp/setup", { csrf: csrfOf(account) })).status).toBe(303)
    const setup = await client.get("/account/totp")
    const secret = base32Decode(secretOf(setup))!
    // One step back (drift is accepted): the steps after it stay free for the codes below, each
    // taken from the clock when it is used, so each is after the last accepted one.
    expect((await client.post("/account/totp/confirm", { csrf: csrfOf(setup), code: totpAt(secret, Date.now() - 30_000) })).status).toBe(303)
    return { client, secret }
  }

  it("replacing a confirmed authenticator needs a current code; a session alone starts no enrolment", async () => {
    const { client, secret } = await withAuthenticator("replace@example.test")
    const on = await client.get("/account")
    expect(on.text).toContain("Current code from your authenticator")
    // A session alone: no new enrolment (its secret would be accepted at sign-in).
    const refused = await client.post("/account/totp/setup", { csrf: csrfOf(on) })
    expect(refused.status).toBe(403)
    expect(refused.text).toContain("Enter the current code of your authenticator to replace it.")
    const wrong = totpAt(secret, Date.now()) === "000000" ? "111111" : "000000"
    expect((await client.post("/account/totp/change", { csrf: csrfOf(on), action: "replace", code: wrong })).status).toBe(401)
    expect((await client.get("/account/totp")).headers.get("location")).toBe("/account")

    const replace = await client.post("/account/totp/change", { csrf: csrfOf(on), action: "replace", code: totpAt(secret, Date.now()) })
    expect(replace.status, replace.text).toBe(303)
    expect(replace.headers.get("location")).toBe("/account/totp")
    const newSetup = await client.get("/account/totp")
    const newSecret = base32Decode(secretOf(newSetup))!
    // The old authenticator's code does not turn the new one on.
    const oldCode = await client.post("/account/totp/confirm", { csrf: csrfOf(newSetup), code: totpAt(secret, Date.now() + 30_000) })
    expect(oldCode.status).toBe(401)
    expect(oldCode.text).toContain("wrong for the new authenticator")
    const newCode = await client.post("/account/totp/confirm", { csrf: csrfOf(newSetup), code: totpAt(newSecret, Date.now() + 30_000) })
    expect(newCode.status, newCode.text).toBe(303)
    expect((await client.get("/account")).text).toContain('<strong id="totp-status">on</strong>')
  })

  it("turning off the authenticator needs a current code", async () => {
    const { client, secret } = await withAuthenticator("off@example.test")
    const on = await client.get("/account")
    const wrong = totpAt(secret, Date.now()) === "000000" ? "111111" : "000000"
    const refused = await client.post("/account/totp/change", { csrf: csrfOf(on), action: "disable", code: wrong })
    expect(refused.status).toBe(401)
    expect(refused.text).toContain('<strong id="totp-status">on</strong>')
    expect((await client.post("/account/totp/change", { csrf: csrfOf(on), action: "disable" })).status).toBe(401)
    expect((await client.get("/account")).text).toContain('<strong id="totp-status">on</strong>')
    const off = await client.post("/account/totp/change", { csrf: csrfOf(on), action: "disable", code: totpAt(secret, Date.now()) })
    expect(off.status, off.text).toBe(303)
    expect((await client.get("/account")).text).toContain('<strong id="totp-status">off</strong>')
  })

  it("keeps no session for anonymous visitors: 10,001 anonymous GETs sign nobody out", async () => {
    const client = new WebClient(demo.url)
    const link = await signIn(client, "stays@example.test")
    expect((await client.post(link, { csrf: csrfOf(await client.get(link)) })).status).toBe(303)
    expect((await client.get("/account")).status).toBe(200)
    let remaining = 10_001
    const worker = async () => {
      while (remaining-- > 0) {
        const page = await fetch(`${demo.url}/`)
        expect(page.headers.getSetCookie().some((c) => c.startsWith("lagrello_demo_session="))).toBe(false)
        await page.arrayBuffer()
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
    const account = await client.get("/account")
    expect(account.status).toBe(200)
    expect(account.text).toContain("stays@example.test")
  }, 180_000)
  /** The newest sign-in mail to `email` on the mailbox page: its link's path and its code. */
  const mailOf = async (email: string) => {
    const html = await (await fetch(`${demo.url}/dev/mailbox`)).text()
    const row = html.split("<tr").find((r) => r.includes(`<td>${escapeHtml(email)}</td>`)) ?? ""
    const link = /href="([^"]*\/login\/[^"]+)"/.exec(row)?.[1]
    const code = /<td class="code">(\d{6})<\/td>/.exec(row)?.[1]
    if (link === undefined || code === undefined) throw new Error(`No live mail to ${email}:\n${html}`)
    return { path: new URL(link.replace(/&amp;/g, "&")).pathname, code }
  }

  it("the code from the mail signs in once (and uses the link up); wrong ones are refused, five end the mail", async () => {
    const client = new WebClient(demo.url)
    const home = await client.get("/")
    const sent = await client.post("/signin", { csrf: csrfOf(home), email: "coded@example.test" })
    expect(sent.text).toContain("Code from the mail")
    const { code, path } = await mailOf("coded@example.test")
    const wrong = code.replace(/^./, (d) => String((Number(d) + 1) % 10))
    const refused = await client.post("/signin/email-code", { csrf: csrfOf(sent), email: "coded@example.test", code: wrong })
    expect(refused.status).toBe(401)
    // The same words for an address that never got a mail.
    const unknown = await client.post("/signin/email-code", { csrf: csrfOf(sent), email: "never@example.test", code })
    expect(unknown.status).toBe(401)
    expect(unknown.text.replace(/never@example\.test/g, "")).toBe(refused.text.replace(/coded@example\.test/g, ""))
    const signedIn = await client.post("/signin/email-code", { csrf: csrfOf(sent), email: "Coded@Example.TEST", code })
    expect(signedIn.status, signedIn.text).toBe(303)
    expect(signedIn.headers.get("location")).toBe("/account")
    expect((await client.get("/account")).text).toContain("coded@example.test")
    const other = new WebClient(demo.url)
    expect((await other.post(path, { csrf: csrfOf(await other.get(path)) })).status).toBe(410)

    // Five wrong codes end the next mail: its right code and its link no longer work.
    const again = new WebClient(demo.url)
    const page = await again.post("/signin", { csrf: csrfOf(await again.get("/")), email: "guessed@example.test" })
    const mail = await mailOf("guessed@example.test")
    const bad = mail.code.replace(/^./, (d) => String((Number(d) + 1) % 10))
    for (let i = 0; i < 5; i++) expect((await again.post("/signin/email-code", { csrf: csrfOf(page), email: "guessed@example.test", code: bad })).status).toBe(401)
    expect((await again.post("/signin/email-code", { csrf: csrfOf(page), email: "guessed@example.test", code: mail.code })).status).toBe(401)
    expect((await again.post(mail.path, { csrf: csrfOf(await again.get(mail.path)) })).status).toBe(410)
  })

  it("a handoff: scanners opening its link consume nothing; the right number signs the waiting browser in, once", async () => {
    const computer = new WebClient(demo.url)
    const started = await computer.post("/signin/handoff", { csrf: csrfOf(await computer.get("/")), email: "handed@example.test" })
    expect(started.status, started.text).toBe(303)
    expect(started.headers.get("location")).toBe("/signin/wait")
    const cookie = started.headers.getSetCookie().find((c) => c.startsWith("lagrello_demo_handoff=")) ?? ""
    expect(cookie).toMatch(/HttpOnly; SameSite=Lax; Path=\/signin$/)
    expect(computer.cookieNames()).not.toContain("lagrello_demo_session")
    const waiting = await computer.get("/signin/wait")
    expect(waiting.status).toBe(200)
    expect(waiting.headers.get("content-security-policy")).toContain("default-src 'self'")
    expect(waiting.text).toContain('<script src="/web/app.js" defer></script>')
    expect(waiting.text).not.toMatch(/<script>|<script [^>]*>[^<]/)
    const shown = Number(/id="match-number"[^>]*>(\d{2})</.exec(waiting.text)?.[1])
    const { path } = await mailOf("handed@example.test")
    for (let i = 0; i < 3; i++) expect(await (await fetch(demo.url + path)).text()).toContain("pick the number that device shows")
    const phone = new WebClient(demo.url)
    const choicesPage = await phone.get(path)
    const choices = [...choicesPage.text.matchAll(/name="matchNumber" value="(\d+)"/g)].map((m) => Number(m[1]))
    expect(choices).toHaveLength(3)
    expect(choices).toContain(shown)
    // A number that was not offered decides nothing.
    expect((await phone.post(`${path}/approve`, { csrf: csrfOf(choicesPage), matchNumber: "5" })).status).toBe(400)
    const approved = await phone.post(`${path}/approve`, { csrf: csrfOf(choicesPage), matchNumber: String(shown) })
    expect(approved.status, approved.text).toBe(200)
    expect(approved.text).toContain("you can return to your other device")
    // The waiting browser, on its next look (what its script or its refresh does).
    const next = await computer.get("/signin/wait")
    expect(next.status, next.text).toBe(303)
    expect(next.headers.get("location")).toBe("/account")
    expect(computer.cookieNames()).toContain("lagrello_demo_session")
    expect(computer.cookieNames()).not.toContain("lagrello_demo_handoff")
    expect((await computer.get("/account")).text).toContain("handed@example.test")
    // Once: the phone's browser holds no session, and the link is used up.
    expect((await phone.get("/account")).headers.get("location")).toBe("/")
    expect((await phone.get(path)).text).toContain("Confirm to sign in")
    expect((await phone.post(path, { csrf: csrfOf(choicesPage) })).status).toBe(410)
  })

  it("new recovery codes need a code of the authenticator; a recovery code signs in and can replace the authenticator", async () => {
    const { client, secret } = await withAuthenticator("recover@example.test")
    const account = await client.get("/account")
    expect(account.text).toContain('<strong id="recovery-status">none yet</strong>')
    const made = await client.post("/account/totp/change", { csrf: csrfOf(account), action: "recovery-codes", code: totpAt(secret, Date.now()) })
    expect(made.status, made.text).toBe(303)
    expect(made.headers.get("location")).toBe("/account/recovery-codes")
    const shown = await client.get("/account/recovery-codes")
    expect(shown.headers.get("cache-control")).toBe("no-store")
    const codes = [...shown.text.matchAll(/<li>([2-9A-HJ-NP-Z-]{19})<\/li>/g)].map((m) => m[1]!)
    expect(codes).toHaveLength(10)
    expect((await client.get("/account/recovery-codes")).headers.get("location")).toBe("/account")
    // A recovery code does not make more of them.
    const refused = await client.post("/account/totp/change", { csrf: csrfOf(account), action: "recovery-codes", code: codes[0]! })
    expect(refused.status).toBe(401)
    expect(refused.text).toContain("not a recovery code")

    expect((await client.post("/signout", { csrf: csrfOf(account) })).status).toBe(303)
    const link = await signIn(client, "recover@example.test")
    expect((await client.post(link, { csrf: csrfOf(await client.get(link)) })).headers.get("location")).toBe("/signin/code")
    const recoveryPage = await client.get("/signin/recovery")
    expect(recoveryPage.status).toBe(200)
    const signedIn = await client.post("/signin/recovery", { csrf: csrfOf(recoveryPage), code: codes[1]!.toLowerCase() })
    expect(signedIn.status, signedIn.text).toBe(303)
    const after = await client.get("/account")
    expect(after.text).toContain("9 are left")
    // The authenticator lost: a recovery code replaces it (SPEC 3.6).
    const replace = await client.post("/account/totp/change", { csrf: csrfOf(after), action: "replace", code: codes[2]! })
    expect(replace.status, replace.text).toBe(303)
    expect(replace.headers.get("location")).toBe("/account/totp")
  })
})

describe("the sign-in throttle", () => {
  let demo: RunningDemo
  let dir: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lagrello-demo-throttle-"))
    demo = await startDemo({ DATABASE_URL: `sqlite:${join(dir, "throttle.db")}`, LAGRELLO_ENCRYPTION_KEY: encryptionKey }, { cwd: dir })
  })

  afterAll(async () => {
    await demo?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** The page without its retry time (two answers a minute apart may name different times). */
  const withoutTime = (text: string) => text.replace(/Try again in [^<]*/, "")

  it("answers 429 with a page saying when to retry: per client address, then for all clients together", async () => {
    const client = new WebClient(demo.url)
    const csrf = csrfOf(await client.get("/"))
    for (let i = 0; i < 10; i++) {
      const sent = await client.post("/signin", { csrf, email: `many-${i}@example.test` })
      expect(sent.status, sent.text).toBe(200)
    }
    // Known (many-0) or unknown: the same answer, nothing sent.
    const known = await client.post("/signin", { csrf, email: "many-0@example.test" })
    const unknown = await client.post("/signin", { csrf, email: "nobody-yet@example.test" })
    for (const page of [known, unknown]) {
      expect(page.status).toBe(429)
      expect(page.headers.get("content-type")).toMatch(/^text\/html/)
      expect(page.headers.get("cache-control")).toBe("no-store")
      const retryAfter = Number(page.headers.get("retry-after"))
      expect(retryAfter).toBeGreaterThan(0)
      expect(retryAfter).toBeLessThanOrEqual(600)
      expect(page.text).toMatch(/Try again in (a minute|\d+ minutes) \(after \d\d:\d\d UTC\)/)
    }
    expect(withoutTime(unknown.text)).toBe(withoutTime(known.text))
    expect(known.text).not.toContain("many-0@example.test")
    const mailbox = await (await fetch(`${demo.url}/dev/mailbox?limit=500`)).text()
    expect(mailbox).not.toContain("nobody-yet@example.test")

    // Other addresses still may, up to the total of 60 a minute.
    for (let a = 0; a < 5; a++) {
      const other = new WebClient(demo.url)
      const token = csrfOf(await other.get("/"))
      for (let i = 0; i < 10; i++) expect((await other.post("/signin", { csrf: token, email: `many-${a}-${i}@example.test` })).status).toBe(200)
    }
    const late = new WebClient(demo.url)
    const refused = await late.post("/signin", { csrf: csrfOf(await late.get("/")), email: "late@example.test" })
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(60)
    expect(refused.text).toContain("Too many sign-in requests")
  })
})
