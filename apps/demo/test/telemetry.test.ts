/**
 * Telemetry end to end (SPEC 7.1): the built demo as a child process exporting to a real OTLP/HTTP
 * receiver on loopback (a node:http server taking /v1/traces and /v1/metrics), with a real SMTP
 * server and a SQLite file, and serving /metrics (LAGRELLO_METRICS=1). The spans are named by
 * route pattern with the operations' and storage's spans under them, the log lines carry the
 * trace ids, the Prometheus counters move with the requests, and no byte received by the
 * receiver or served by /metrics holds the access token, the link token, the TOTP secret, a
 * code or the e-mail address used.
 */
import { mkdtempSync, rmSync } from "node:fs"
import type { Server } from "node:http"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { base32Decode, totpAt } from "@lagrello/core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Exited, RunningDemo } from "./support/server.js"
import { call, startDemo } from "./support/server.js"
import type { SmtpSink } from "./support/smtp.js"
import { decodedBody, startSmtpSink } from "./support/smtp.js"

const accessToken = `otel-admin-${"fedcba9876543210".repeat(2)}`
const encryptionKey = Buffer.alloc(32, 9).toString("base64")
const userId = "u-telemetry"
const email = "telemetry.person@example.test"

interface Received {
  readonly path: string
  readonly contentType: string | undefined
  readonly body: Buffer
}

/** A minimal OTLP/HTTP receiver: keeps every request's body, answers 200 with an empty JSON object. */
const startReceiver = async (): Promise<{ url: string; received: Array<Received>; close: () => Promise<void> }> => {
  const received: Array<Received> = []
  const server: Server = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      received.push({ path: request.url ?? "", contentType: request.headers["content-type"], body: Buffer.concat(chunks) })
      response.writeHead(200, { "content-type": "application/json" })
      response.end("{}")
    })
  })
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resolve(typeof address === "object" && address !== null ? address.port : 0)
    })
  )
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}

/** A sample of Prometheus text: `name{labels} value`. */
interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** Parses Prometheus text (exposition format 0.0.4): comments skipped, every sample line checked. */
const parsePrometheus = (text: string): { samples: Array<Sample>; types: Map<string, string> } => {
  const samples: Array<Sample> = []
  const types = new Map<string, string>()
  for (const line of text.split("\n")) {
    if (line === "") continue
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (type) {
      types.set(type[1]!, type[2]!)
      continue
    }
    if (line.startsWith("#")) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`)
    const labels: Record<string, string> = {}
    const labelText = match[2] ?? ""
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/g
    let consumed = 0
    for (let label = labelPattern.exec(labelText); label !== null; label = labelPattern.exec(labelText)) {
      labels[label[1]!] = label[2]!.replace(/\\n/g, "\n").replace(/\\"/g, "\"").replace(/\\\\/g, "\\")
      consumed = labelPattern.lastIndex
    }
    if (consumed !== labelText.length) throw new Error(`bad labels: ${line}`)
    const raw = match[3]!
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw)
    if (Number.isNaN(value) && raw !== "NaN") throw new Error(`bad value: ${line}`)
    samples.push({ name: match[1]!, labels, value })
  }
  return { samples, types }
}

const valueOf = (samples: ReadonlyArray<Sample>, name: string, labels: Record<string, string>): number =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)

interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: Record<string, unknown> }>
}

const attribute = (span: OtlpSpan, key: string): unknown => {
  const found = span.attributes.find((a) => a.key === key)
  return found === undefined ? undefined : Object.values(found.value)[0]
}

/** Whether `text` holds `code` as a token of its own (not inside a longer number or hex id). */
const holdsCode = (text: string, code: string) => new RegExp(`(?<![0-9a-fA-F])${code}(?![0-9a-fA-F])`).test(text)

let smtp: SmtpSink
let receiver: Awaited<ReturnType<typeof startReceiver>>
let demo: RunningDemo
let dir: string
let exited: Exited
const secrets: Array<string> = [accessToken, email]
const codes: Array<string> = []
let metricsBefore: Array<Sample>
let metricsAfter: Array<Sample>
let metricsTypes: Map<string, string>
const metricsTexts: Array<string> = []

const api = (method: string, path: string, options: Parameters<typeof call>[3] = {}) =>
  call(demo.url, method, path, { token: accessToken, ...options })

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lagrello-demo-otel-"))
  smtp = await startSmtpSink()
  receiver = await startReceiver()
  demo = await startDemo({
    DATABASE_URL: `sqlite:${join(dir, "otel.db")}`,
    SMTP_URL: smtp.url,
    MAIL_FROM: "Telemetry Tests <otel@example.test>",
    LAGRELLO_ACCESS_TOKEN: accessToken,
    LAGRELLO_ENCRYPTION_KEY: encryptionKey,
    LAGRELLO_METRICS: "1",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: "lagrello-telemetry-test",
    // Every request traced (without it, one in 100).
    OTEL_TRACES_SAMPLER: "always_on",
    // Exported when the demo stops (the exporters flush on shutdown), not on a timer.
    OTEL_METRIC_EXPORT_INTERVAL: "3600000"
  })

  const scrape = async () => {
    const answer = await call(demo.url, "GET", "/metrics")
    expect(answer.status, answer.text).toBe(200)
    expect(answer.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/)
    metricsTexts.push(answer.text)
    return parsePrometheus(answer.text)
  }

  metricsBefore = (await scrape()).samples
  expect((await api("POST", "/v1/users", { body: { userId, email } })).status).toBe(201)
  expect((await api("PATCH", "/v1/tenant", { body: { callbackUrl: "https://app.example.test/magic/{}" } })).status).toBe(200)
  expect((await api("POST", `/v1/users/${userId}/email`)).status).toBe(204)
  const mail = await smtp.waitFor(email)
  const token = /https:\/\/app\.example\.test\/magic\/([A-Za-z0-9_-]{43})/.exec(decodedBody(mail.raw))?.[1]
  expect(token).toBeDefined()
  secrets.push(token!)
  const mailCode = /\b(\d{6})\b/.exec(decodedBody(mail.raw).split("\n").find((line) => /code/i.test(line)) ?? "")?.[1]
  if (mailCode !== undefined) codes.push(mailCode)
  expect((await api("GET", `/v1/users/email?payload=${token}`)).status).toBe(200)
  const enabled = await api("POST", `/v1/users/${userId}/totp`, { body: { enable: true } })
  expect(enabled.status).toBe(200)
  const { secretKey } = enabled.json as { secretKey: string }
  secrets.push(secretKey)
  const code = totpAt(base32Decode(secretKey)!, Date.now())
  const wrong = String((Number(code) + 500_000) % 1_000_000).padStart(6, "0")
  codes.push(code, wrong)
  expect((await api("GET", `/v1/users/${userId}/totp?payload=${wrong}`)).status).toBe(401)
  expect((await api("GET", `/v1/users/${userId}/totp?payload=${code}`)).status).toBe(200)
  for (let i = 0; i < 3; i++) expect((await api("GET", `/v1/users/${userId}`)).status).toBe(200)
  expect((await call(demo.url, "GET", `/v1/users/${userId}`)).status).toBe(403)
  // The mail is delivered (above): its attempt is counted once the worker has recorded it.
  const scraped = await scrape()
  metricsAfter = scraped.samples
  metricsTypes = scraped.types
  exited = await demo.stop("SIGTERM")
})

afterAll(async () => {
  await demo?.stop()
  await smtp?.close()
  await receiver?.close()
  rmSync(dir, { recursive: true, force: true })
})

const spans = (): Array<OtlpSpan> =>
  receiver.received
    .filter((r) => r.path === "/v1/traces")
    .flatMap((r) => {
      const body = JSON.parse(r.body.toString("utf8")) as {
        resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<OtlpSpan> }> }>
      }
      return body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans))
    })

describe("telemetry of the demo", () => {
  it("stops cleanly after flushing its exporters", () => {
    expect(exited.code, demo.stderr()).toBe(0)
    expect(receiver.received.map((r) => r.path)).toEqual(expect.arrayContaining(["/v1/traces", "/v1/metrics"]))
    for (const r of receiver.received) expect(r.contentType).toMatch(/^application\/json/)
    const listening = demo.stdout().split("\n").find((line) => line.includes('"msg":"listening"'))
    expect(JSON.parse(listening ?? "{}")).toMatchObject({ telemetry: "OTLP traces and metrics, /metrics" })
  })

  it("names request spans by route pattern, with the operation and storage spans under them", () => {
    const all = spans()
    const byId = new Map(all.map((span) => [span.spanId, span]))
    const requests = all.filter((span) => span.name === `GET /v1/users/{userId}/totp`)
    expect(requests.length).toBe(2)
    expect(requests.map((span) => attribute(span, "http.response.status_code")).sort()).toEqual([200, 401])
    for (const request of requests) {
      expect(attribute(request, "http.route")).toBe("/v1/users/{userId}/totp")
      expect(attribute(request, "http.request.method")).toBe("GET")
      expect(request.parentSpanId ?? "").toBe("")
      expect(request.kind).toBe(2) // SERVER
    }
    expect(all.filter((span) => span.name === "GET /v1/users/{userId}").length).toBe(4)
    expect(all.some((span) => span.name === "POST /v1/users")).toBe(true)

    const verifies = all.filter((span) => span.name === "Lagrello.Totp.verify")
    expect(verifies.length).toBe(2)
    for (const verify of verifies) {
      const parent = byId.get(verify.parentSpanId ?? "")
      expect(parent?.name).toBe("GET /v1/users/{userId}/totp")
      expect(verify.traceId).toBe(parent?.traceId)
      expect(attribute(verify, "lagrello.user_id")).toBe(userId)
      expect(typeof attribute(verify, "lagrello.tenant_id")).toBe("string")
      const storage = all.filter((span) => span.parentSpanId === verify.spanId).map((span) => span.name)
      expect(storage).toEqual(expect.arrayContaining(["Lagrello.Storage.getTotp", "Lagrello.Storage.beginTotpAttempt"]))
    }
    // The access token's lookup, directly under the request.
    expect(all.some((span) => span.name === "Lagrello.Storage.findAccessToken" && span.parentSpanId === requests[0]!.spanId)).toBe(true)

    // The mail: the delivery with its SMTP send under it.
    const deliver = all.find((span) => span.name === "Lagrello.Outbox.deliver")
    expect(deliver).toBeDefined()
    expect(all.some((span) => span.name === "Lagrello.Mail.send" && span.parentSpanId === deliver!.spanId)).toBe(true)
  })

  it("exports the metrics over OTLP", () => {
    const names = receiver.received
      .filter((r) => r.path === "/v1/metrics")
      .flatMap((r) => {
        const body = JSON.parse(r.body.toString("utf8")) as {
          resourceMetrics: Array<{ resource: { attributes: OtlpSpan["attributes"] }; scopeMetrics: Array<{ metrics: Array<{ name: string }> }> }>
        }
        for (const rm of body.resourceMetrics) {
          expect(rm.resource.attributes.find((a) => a.key === "service.name")?.value).toEqual({ stringValue: "lagrello-telemetry-test" })
        }
        return body.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name)))
      })
    expect(names).toEqual(
      expect.arrayContaining([
        "lagrello_http_requests",
        "lagrello_http_request_duration_seconds",
        "lagrello_verifications",
        "lagrello_sends",
        "lagrello_delivery_attempts",
        "lagrello_outbox_depth",
        "lagrello_outbox_oldest_age_seconds"
      ])
    )
  })

  it("puts the trace id of each request on its log line", () => {
    const traceIds = new Set(spans().filter((span) => span.name === "GET /v1/users/{userId}").map((span) => span.traceId))
    const lines = demo
      .stdout()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg: string; route?: string; traceId?: string })
      .filter((line) => line.msg === "request" && line.route === "/v1/users/:userId")
    expect(lines.length).toBe(4)
    for (const line of lines) expect(traceIds.has(line.traceId ?? "")).toBe(true)
  })

  it("serves /metrics as Prometheus text whose counters move with the requests", () => {
    const getUser = { name: "lagrello_http_requests_total", labels: { route: "/v1/users/{userId}", method: "GET" } }
    expect(valueOf(metricsAfter, getUser.name, { ...getUser.labels, status: "200" }) -
      valueOf(metricsBefore, getUser.name, { ...getUser.labels, status: "200" })).toBe(3)
    expect(valueOf(metricsAfter, getUser.name, { ...getUser.labels, status: "403" }) -
      valueOf(metricsBefore, getUser.name, { ...getUser.labels, status: "403" })).toBe(1)
    expect(metricsTypes.get("lagrello_http_requests_total")).toBe("counter")
    expect(metricsTypes.get("lagrello_http_request_duration_seconds")).toBe("histogram")
    const count = valueOf(metricsAfter, "lagrello_http_request_duration_seconds_count", getUser.labels)
    const infinite = valueOf(metricsAfter, "lagrello_http_request_duration_seconds_bucket", { ...getUser.labels, le: "+Inf" })
    expect(count).toBeGreaterThanOrEqual(4)
    expect(infinite).toBe(count)
    const verification = (outcome: string) =>
      valueOf(metricsAfter, "lagrello_verifications_total", { method: "totp", outcome }) -
      valueOf(metricsBefore, "lagrello_verifications_total", { method: "totp", outcome })
    expect(verification("accepted")).toBe(1)
    expect(verification("rejected")).toBe(1)
    expect(valueOf(metricsAfter, "lagrello_verifications_total", { method: "magic_link", outcome: "accepted" })).toBe(1)
    expect(valueOf(metricsAfter, "lagrello_sends_total", { kind: "magic_link" })).toBe(1)
    expect(metricsTypes.get("lagrello_outbox_depth")).toBe("gauge")
    expect(metricsAfter.some((s) => s.name === "lagrello_outbox_oldest_age_seconds")).toBe(true)
    // Every label is one of the known, bounded ones.
    for (const sample of metricsAfter) {
      for (const key of Object.keys(sample.labels)) expect(["route", "method", "status", "le", "kind", "outcome"]).toContain(key)
    }
  })

  it("sends and serves no token, code, secret or e-mail address", () => {
    const texts = [...receiver.received.map((r) => r.body.toString("utf8")), ...metricsTexts]
    expect(codes.length).toBeGreaterThanOrEqual(2)
    for (const text of texts) {
      for (const secret of secrets) expect(text.includes(secret)).toBe(false)
      for (const code of codes) expect(holdsCode(text, code)).toBe(false)
      expect(text).not.toMatch(/@example\.test/)
    }
  })
})
