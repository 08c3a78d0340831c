/**
 * docs/guides/nestjs-in-10-minutes.md, as written: in an empty folder outside the workspace, its
 * marked shell blocks are run with bash and its marked files written (support/markdown.ts), with
 * the packed tarballs in place of the `@lagrello/*` names and the npm registry for everything else;
 * then `npm run build && npm start`, and a user is signed in as the guide's last section says:
 * a magic link by real mail (an SMTP server on a loopback port), TOTP turned on with a code, and a
 * second sign-in with link and code. First on Fastify (the guide's main.ts), then on Express (the
 * guide's Express blocks applied to the same folder). Stopping `npm start` with SIGTERM must stop
 * the application too (no orphaned node process).
 *
 * A change to the guide that breaks a reader's path (a command, a file, a route) fails here.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { base32Decode, totpAt } from "@lagrello/core"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { decodedBody, startSmtpSink, type SmtpSink } from "../../../apps/demo/test/support/smtp.js"
import { installEnv } from "./support/app.js"
import { blocksOf, markedBlocks, type MarkedBlock } from "./support/markdown.js"
import { runCommand } from "./support/run.js"
import { tarballsIn } from "./support/tarballs.js"
import { workspaceRoot } from "./support/workspace.js"

const packed = inject("packed")
const guide = join(workspaceRoot, "docs/guides/nestjs-in-10-minutes.md")
const blocks = markedBlocks(guide)

const withTarballs = tarballsIn(packed)

const accessToken = `guide-admin-${"0123456789abcdef".repeat(2)}`
const encryptionKey = Buffer.alloc(32, 5).toString("base64")

let root: string
let appDir: string
const env = installEnv

const apply = async (block: MarkedBlock) => {
  if (block.kind === "file") {
    const target = join(appDir, block.path!)
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, block.text)
    return
  }
  const script = block.text.split("\n").map(withTarballs).join("\n")
  const result = await runCommand("bash", ["-euo", "pipefail", "-c", script], { cwd: appDir, env: env(), timeoutMillis: 900_000 })
  expect(result.status, `guide line ${block.line}:\n${script}\n${result.stdout}${result.stderr}`).toBe(0)
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

/** The pids of a process's descendants (from /proc), deepest last. */
const descendants = (pid: number): Array<number> => {
  const children = (() => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)
    } catch {
      return []
    }
  })()
  return children.flatMap((child) => [child, ...descendants(child)])
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A minimal HTTP user agent with one cookie jar, like `curl -b/-c`. */
class Agent {
  private cookie: string | undefined
  constructor(readonly base: string) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
    const headers: Record<string, string> = {}
    if (this.cookie !== undefined) headers.cookie = this.cookie
    if (body !== undefined) headers["content-type"] = "application/json"
    const response = await fetch(this.base + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const set = response.headers.getSetCookie()[0]
    if (set !== undefined) this.cookie = set.split(";")[0]
    const text = await response.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, json, text }
  }
}

interface Started {
  readonly npm: ChildProcess
  readonly base: string
  readonly output: () => string
  readonly exited: Promise<number | null>
}

const npmStart = async (smtp: SmtpSink): Promise<Started> => {
  const port = await freePort()
  const npm = spawn("npm", ["start"], {
    cwd: appDir,
    env: { ...env(), PORT: String(port), SMTP_URL: smtp.url, LAGRELLO_ENCRYPTION_KEY: encryptionKey, LAGRELLO_ACCESS_TOKEN: accessToken }
  })
  let output = ""
  npm.stdout!.setEncoding("utf8").on("data", (c: string) => (output += c))
  npm.stderr!.setEncoding("utf8").on("data", (c: string) => (output += c))
  const exited = new Promise<number | null>((resolve) => npm.on("exit", (code) => resolve(code)))
  let exit: number | null | "running" = "running"
  void exited.then((code) => (exit = code))
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (exit !== "running") throw new Error(`npm start exited (${exit}):\n${output}`)
    if (Date.now() > deadline) throw new Error(`The guide's app did not answer in time:\n${output}`)
    const up = await fetch(`${base}/v1/tenant`, { headers: { authorization: `Bearer ${accessToken}` } }).then(
      (r) => r.status === 200,
      () => false
    )
    if (up) break
    await new Promise((r) => setTimeout(r, 100))
  }
  return { npm, base, output: () => output, exited }
}

/** The sign-in link's token in the `skip`-th mail to the address. */
const linkToken = async (smtp: SmtpSink, address: string, skip: number): Promise<string> => {
  const mail = await smtp.waitFor(address, { skip, timeoutMillis: 20_000 })
  const token = /\/signin\/([A-Za-z0-9_-]{43})/.exec(decodedBody(mail.raw))?.[1]
  if (token === undefined) throw new Error("No sign-in link in the mail")
  return token
}

describe("the NestJS guide, as written", () => {
  let smtp: SmtpSink

  beforeAll(async () => {
    expect(blocks.filter((b) => b.kind === "run").length).toBeGreaterThanOrEqual(3)
    root = mkdtempSync(join(tmpdir(), "lagrello-guide-"))
    // `npm init -y` names the package after its folder.
    appDir = join(root, "acme")
    mkdirSync(appDir)
    smtp = await startSmtpSink()
    for (const block of blocksOf(blocks, "fastify").filter((b) => b.variant !== "express")) await apply(block)
  })

  afterAll(async () => {
    await smtp?.close()
    if (root !== undefined) rmSync(root, { recursive: true, force: true })
  })

  it("has the files the guide's module imports", () => {
    const files = blocks.filter((b) => b.kind === "file").map((b) => b.path)
    expect(files).toEqual(
      expect.arrayContaining(["tsconfig.json", "src/app.module.ts", "src/main.ts", "src/sessions.ts", "src/sign-in.controller.ts"])
    )
  })

  describe.each(["fastify", "express"] as const)("on %s", (adapter) => {
    let app: Started

    beforeAll(async () => {
      if (adapter === "express") {
        for (const block of blocks.filter((b) => b.variant === "express")) await apply(block)
      }
      const build = await runCommand("npm", ["run", "build"], { cwd: appDir, env: env() })
      expect(build.status, build.stdout + build.stderr).toBe(0)
      app = await npmStart(smtp)
    })

    afterAll(async () => {
      if (app !== undefined && app.npm.exitCode === null) app.npm.kill("SIGKILL")
    })

    it("signs a user in with a magic link, turns TOTP on, then signs in with link and code", async () => {
      const email = `bob-${adapter}@example.com`
      const mailsBefore = smtp.received().filter((m) => m.to.includes(email)).length
      const anonymous = new Agent(app.base)
      const sent = await anonymous.call("POST", "/signin", { email })
      expect(sent.status, sent.text).toBe(202)
      expect(sent.json).toEqual({ message: "If the address is valid, a sign-in link is on its way." })
      const first = await linkToken(smtp, email, mailsBefore)

      // Opening the link changes nothing; its POST signs in, once.
      const page = await anonymous.call("GET", `/signin/${first}`)
      expect(page.status).toBe(200)
      expect(page.text).toContain(`<form method="post" action="/signin/${first}">`)
      const bob = new Agent(app.base)
      expect((await bob.call("POST", `/signin/${first}`)).json).toEqual({ signedIn: true })
      expect((await new Agent(app.base).call("POST", `/signin/${first}`)).json).toEqual({
        signedIn: false,
        message: "This link has expired or was already used."
      })
      expect((await bob.call("GET", "/account")).json).toEqual({ userId: email, email })

      // TOTP: enrol, confirm with the app's code.
      const enabled = await bob.call("POST", "/account/totp")
      expect(enabled.status, enabled.text).toBe(201)
      const { secretKey, qrImage } = enabled.json as { secretKey: string; qrImage: string }
      expect(qrImage).toMatch(/^data:image\/png;base64,/)
      const secret = base32Decode(secretKey)!
      const enrolment = totpAt(secret, Date.now())
      expect((await bob.call("POST", "/account/totp/confirm", { code: enrolment })).json).toEqual({ totp: "enabled" })
      // Replacing it with a session alone is refused: the current code is asked for.
      expect((await bob.call("POST", "/account/totp")).status).toBe(401)

      // Second sign-in: the link, then the code.
      await anonymous.call("POST", "/signin", { email })
      const second = await linkToken(smtp, email, mailsBefore + 1)
      const again = new Agent(app.base)
      expect((await again.call("POST", `/signin/${second}`)).json).toEqual({
        signedIn: false,
        next: "POST /signin/code with the code of the authenticator app"
      })
      expect((await again.call("GET", "/account")).status).toBe(401)
      // The enrolment's code was used: refused. The app's next code signs in.
      expect((await again.call("POST", "/signin/code", { code: enrolment })).json).toEqual({ signedIn: false })
      const code = await again.call("POST", "/signin/code", { code: totpAt(secret, Date.now() + 30_000) })
      expect(code.json, code.text).toEqual({ signedIn: true })
      expect((await again.call("GET", "/account")).json).toEqual({ userId: email, email })

      // The service route with the access token.
      const whoami = await fetch(`${app.base}/internal/whoami`, { headers: { authorization: `Bearer ${accessToken}` } })
      expect(whoami.status).toBe(200)
      expect(((await whoami.json()) as { permissions: Array<string> }).permissions).toContain("ADMIN")
    })

    it("stops with npm start on SIGTERM, the application's node process too", async () => {
      const processes = descendants(app.npm.pid!)
      expect(processes.length).toBeGreaterThan(0)
      app.npm.kill("SIGTERM")
      await app.exited
      const deadline = Date.now() + 10_000
      while (processes.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(processes.filter(alive), app.output()).toEqual([])
      const refused = await fetch(`${app.base}/v1/tenant`).then(
        () => false,
        () => true
      )
      expect(refused).toBe(true)
    })
  })
})
