/**
 * A worker killed while it holds messages (SPEC 4.2): the demo is killed with SIGKILL while its
 * outbox worker has messages leased (the SMTP server holds their answers, so they are on their
 * way and the rest of the batch waits), then started again on the same SQLite file. Every send
 * that was answered 204 must get its mail soon after: a dead worker's leases are short (30 s by
 * default, renewed only while the worker lives), so its messages are taken over by the new
 * process instead of staying hidden behind a lease of minutes.
 *
 * The bound below is a delivery deadline (one lease and a generous margin for starting a process
 * on a busy machine), not a measure of speed.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { SMTPServer } from "smtp-server"
import type { SMTPServerDataStream } from "smtp-server"
import { afterAll, beforeAll, expect, it } from "vitest"
import type { RunningDemo } from "./support/server.js"
import { call, startDemo } from "./support/server.js"
import type { SmtpSink } from "./support/smtp.js"
import { decodedBody, startSmtpSink } from "./support/smtp.js"
import { eventually, magicTokenOf } from "./support/poll.js"

const accessToken = `crash-admin-${"0123456789abcdef".repeat(2)}`
const domain = "crash.example.test"
/** The outbox lease of the core's worker (OutboxWorker.ts): what a killed worker's messages wait at most. */
const leaseMillis = 30_000
/** Time for the second process to start, claim and send on a machine running other tests. */
const marginMillis = 25_000
const users = Array.from({ length: 30 }, (_, i) => `crash-${i}`)

/**
 * An SMTP server that takes every message's data and never answers it: the sends stay in
 * flight until the connection is closed, and nothing counts as delivered.
 */
const startHoldingSink = async () => {
  let held = 0
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    closeTimeout: 50,
    onData: (stream: SMTPServerDataStream) => {
      held++
      stream.resume()
    }
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.server.address()
      resolve(typeof address === "object" && address !== null ? address.port : 0)
    })
  })
  // A demo stopped (or killed) in the middle of a session resets its connection: expected here,
  // and without a listener the server's "error" event would be an uncaught exception.
  server.on("error", () => {})
  return {
    url: `smtp://127.0.0.1:${port}`,
    held: () => held,
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of (server as unknown as { connections: Set<{ close(): void }> }).connections) connection.close()
        server.close(() => resolve())
      })
  }
}

let dir: string
let sink: SmtpSink | undefined
const demos: Array<RunningDemo> = []

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lagrello-demo-crash-"))
})
afterAll(async () => {
  await Promise.all(demos.map((demo) => demo.stop("SIGKILL")))
  await sink?.close()
  rmSync(dir, { recursive: true, force: true })
})

it(
  "every send answered 204 gets its mail after the worker holding it was killed and the server restarted",
  async () => {
    const env = {
      DATABASE_URL: `sqlite:${join(dir, "lagrello.db")}`,
      LAGRELLO_ACCESS_TOKEN: accessToken,
      LAGRELLO_CALLBACK_URL: "https://app.example.test/magic/{}"
    }
    const holding = await startHoldingSink()
    const first = await startDemo({ ...env, SMTP_URL: holding.url })
    demos.push(first)
    const accepted: Array<string> = []
    for (const userId of users) {
      const created = await call(first.url, "POST", "/v1/users", { token: accessToken, body: { userId, email: `${userId}@${domain}` } })
      expect(created.status, created.text).toBe(201)
      const sent = await call(first.url, "POST", `/v1/users/${userId}/email`, { token: accessToken })
      expect(sent.status, sent.text).toBe(204)
      accepted.push(userId)
    }
    // Messages are on their way (claimed, their data sent, no answer): the worker holds their leases.
    // A wait, not a measure: on a machine busy with other tests the worker may take a while.
    await eventually("messages in flight", async () => holding.held() >= 10, 60_000)

    first.child.kill("SIGKILL")
    expect(await first.exited).toEqual({ code: null, signal: "SIGKILL" })
    const killedAt = Date.now()
    await holding.close()

    sink = await startSmtpSink()
    const second = await startDemo({ ...env, SMTP_URL: sink.url })
    demos.push(second)
    const deadline = leaseMillis + marginMillis
    await eventually(
      "a mail for every send answered 204",
      async () => accepted.every((userId) => sink!.received().some((m) => m.to.includes(`${userId}@${domain}`))),
      Math.max(1_000, deadline - (Date.now() - killedAt)),
      100
    )
    // Each once, with a link that signs its user in.
    for (const userId of accepted) {
      const mails = sink.received().filter((m) => m.to.includes(`${userId}@${domain}`))
      expect(mails, userId).toHaveLength(1)
      const verified = await call(second.url, "GET", `/v1/users/email?payload=${magicTokenOf(decodedBody(mails[0]!.raw))}`, {
        token: accessToken
      })
      expect(verified.status, verified.text).toBe(200)
    }
  },
  180_000
)
