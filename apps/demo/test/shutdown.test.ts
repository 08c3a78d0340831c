/**
 * SIGTERM while requests are in flight: they complete, new connections are refused, and the
 * process exits 0. A request is held in flight deterministically by sending its headers and
 * half of its body before the signal, and the rest after it.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, startDemo } from "./support/server.js"

const accessToken = `stop-admin-${"0123456789abcdef".repeat(2)}`

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lagrello-demo-stop-"))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Starts a POST whose body is sent in two halves: `finish()` sends the rest, `answer` is its status. */
const halfSent = (port: number, path: string, body: string) => {
  const req = httpRequest({
    host: "127.0.0.1",
    port,
    method: "POST",
    path,
    agent: false,
    headers: {
      authorization: `Bearer ${accessToken}`,
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body))
    }
  })
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on("response", (res) => {
      let text = ""
      res.on("data", (c: Buffer) => (text += c.toString()))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on("error", reject)
  })
  const half = Math.floor(body.length / 2)
  req.write(body.slice(0, half))
  return { answer, finish: () => req.end(body.slice(half)) }
}

describe.each(["fastify", "express"] as const)("graceful shutdown on %s", (adapter) => {
  it("finishes the requests in flight, refuses new connections, exits 0", async () => {
    const demo = await startDemo({
      DATABASE_URL: `sqlite:${join(dir, `${adapter}.db`)}`,
      LAGRELLO_ACCESS_TOKEN: accessToken,
      LAGRELLO_ADAPTER: adapter
    })
    expect((await call(demo.url, "POST", "/v1/users", { token: accessToken, body: { userId: "held", email: "held@example.test" } })).status).toBe(201)

    const created = halfSent(demo.port, "/v1/users", JSON.stringify({ userId: `in-flight-${"x".repeat(100)}`, email: "f@example.test" }))
    const sent = halfSent(demo.port, "/v1/users/held/email", "")
    // A burst of ordinary requests around the signal, too.
    const burst = Array.from({ length: 20 }, (_, i) =>
      call(demo.url, "POST", "/v1/users", { token: accessToken, body: { userId: `burst-${i}` } }).then(
        (a) => a.status,
        () => "refused" as const
      )
    )
    await new Promise((r) => setTimeout(r, 300))
    demo.child.kill("SIGTERM")
    await new Promise((r) => setTimeout(r, 300))
    // No longer accepting.
    const late = await fetch(`${demo.url}/health`).then(
      (r) => r.status,
      () => "refused" as const
    )
    expect(late === "refused" || late === 503).toBe(true)
    created.finish()
    sent.finish()
    expect((await created.answer).status).toBe(201)
    expect((await sent.answer).status).toBe(204)
    for (const status of await Promise.all(burst)) expect([201, "refused"]).toContain(status)
    expect(await demo.exited).toEqual({ code: 0, signal: null })
    expect(demo.stderr()).toBe("")
  })
})
