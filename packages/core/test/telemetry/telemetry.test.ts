/**
 * The telemetry of the core (SPEC 7.1) in process, on Effect's TestClock: the counters of
 * verifications and lock-outs, the outbox gauges, the storage spans (names and attributes, never
 * the arguments), the request span and counters of a route, and the Prometheus text.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Metric, MetricBoundaries, MetricKey, MetricLabel, Option, TestClock, Tracer } from "effect"
import { base32Decode, totpAt } from "../../src/crypto/otp.js"
import * as MagicLink from "../../src/operations/MagicLink.js"
import * as Totp from "../../src/operations/Totp.js"
import * as Users from "../../src/operations/Users.js"
import { layerClientRateLimiter } from "../../src/server/ClientRateLimiter.js"
import { routes } from "../../src/server/index.js"
import { layerMemory } from "../../src/storage/memory/index.js"
import { Storage } from "../../src/storage/Storage.js"
import { metricsText, prometheusText } from "../../src/telemetry/Prometheus.js"
import { sampleOutbox, spanned, Tracing, tracingSettings } from "../../src/telemetry/Telemetry.js"
import { TracedStorage, tracedStorage } from "../../src/telemetry/tracedStorage.js"
import { adminToken, services, setupTenant } from "../behaviour/harness.js"

const start = Date.UTC(2026, 0, 1)

/** The current value of a metric of the registry with these labels (0 when never recorded). */
const valueOf = (name: string, labels: Record<string, string>) =>
  Effect.map(Metric.snapshot, (pairs) => {
    let total = 0
    for (const pair of pairs) {
      if (pair.metricKey.name !== name) continue
      const tags = Object.fromEntries(pair.metricKey.tags.map((t) => [t.key, t.value]))
      if (Object.keys(labels).length !== Object.keys(tags).length) continue
      if (!Object.entries(labels).every(([k, v]) => tags[k] === v)) continue
      const state = pair.metricState as unknown as { count?: number; value?: number }
      total += state.count ?? state.value ?? 0
    }
    return total
  })

/** Spans as the native tracer makes them, kept. */
const keptSpans = (sampled = true) => {
  const spans: Array<{ name: string; attributes: Map<string, unknown>; parent: string | undefined; spanId: string; traceId: string }> =
    []
  let n = 0
  const tracer = Tracer.make({
    span: (name, parent, _context, _links, _startTime, kind) => {
      const attributes = new Map<string, unknown>()
      const spanId = `span${++n}`
      const parentSpan = Option.getOrUndefined(parent)
      const traceId = parentSpan?.traceId ?? `trace${n}`
      spans.push({ name, attributes, parent: parentSpan?.spanId, spanId, traceId })
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId,
        traceId,
        parent,
        context: _context,
        status: { _tag: "Started", startTime: 0n },
        attributes,
        links: [],
        sampled,
        kind,
        end: () => undefined,
        attribute: (key, value) => void attributes.set(key, value),
        event: () => undefined,
        addLinks: () => undefined
      }
      return span
    },
    context: (f) => f()
  })
  return { spans, tracer }
}

describe("telemetry", () => {
  it.effect("counts TOTP verifications by outcome, and the lock-out a wrong code starts", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const tenantId = yield* setupTenant()
      yield* Users.create(tenantId, { userId: "mallory", email: "mallory@example.com" })
      const { secretKey } = yield* Totp.enable(tenantId, "mallory")
      const secret = base32Decode(secretKey)!
      yield* Totp.verify(tenantId, "mallory", totpAt(secret, start))
      yield* TestClock.adjust(Duration.seconds(30))
      const counts = Effect.all({
        accepted: valueOf("lagrello_verifications", { method: "totp", outcome: "accepted" }),
        rejected: valueOf("lagrello_verifications", { method: "totp", outcome: "rejected" }),
        locked: valueOf("lagrello_verifications", { method: "totp", outcome: "locked" }),
        lockouts: valueOf("lagrello_lockouts", { method: "totp" })
      })
      const before = yield* counts
      const wrong = totpAt(secret, start + 30_000) === "000000" ? "000001" : "000000"
      // With a limit of 5 wrong codes: the fifth starts the lock-out; the next attempt is refused.
      for (let i = 0; i < 5; i++) yield* Effect.either(Totp.verify(tenantId, "mallory", wrong))
      const afterLimit = yield* counts
      expect(afterLimit.rejected - before.rejected).toBe(5)
      expect(afterLimit.lockouts - before.lockouts).toBe(1)
      yield* Effect.either(Totp.verify(tenantId, "mallory", totpAt(secret, start + 30_000)))
      const after = yield* counts
      expect(after.locked - before.locked).toBe(1)
      expect(after.accepted - before.accepted).toBe(0)
      expect(after.lockouts - before.lockouts).toBe(1)
    }).pipe(Effect.provide(services(layerMemory, { totpFailureLimit: 5 }))))

  it.effect("samples the outbox's depth and oldest age into its gauges", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const tenantId = yield* setupTenant()
      yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
      yield* MagicLink.send(tenantId, "alice")
      yield* TestClock.adjust(Duration.seconds(42))
      yield* sampleOutbox
      expect(yield* valueOf("lagrello_outbox_depth", {})).toBe(1)
      expect(yield* valueOf("lagrello_outbox_oldest_age_seconds", {})).toBe(42)
      const storage = yield* Storage
      const [claimed] = yield* storage.claimOutbox(start + 42_000, 30_000, 10)
      yield* storage.markOutboxSent(claimed!)
      yield* sampleOutbox
      expect(yield* valueOf("lagrello_outbox_depth", {})).toBe(0)
      expect(yield* valueOf("lagrello_outbox_oldest_age_seconds", {})).toBe(0)
    }).pipe(Effect.provide(services(layerMemory))))

  it.effect("puts a span around each storage call, with the method and the system, never the arguments", () =>
    Effect.gen(function*() {
      const { spans, tracer } = keptSpans()
      const storage = tracedStorage(yield* Storage, "memory")
      yield* TestClock.setTime(start)
      yield* storage.insertUser("tenant-1", { userId: "carol", email: "carol@example.com" }, start).pipe(
        Effect.withSpan("outer"),
        Effect.withTracer(tracer)
      )
      yield* storage.outboxStats.pipe(Effect.withSpan("outer"), Effect.withTracer(tracer))
      const insert = spans.find((s) => s.name === "Lagrello.Storage.insertUser")
      expect(insert).toBeDefined()
      expect(insert!.parent).toBe(spans.find((s) => s.name === "outer")!.spanId)
      expect(Object.fromEntries(insert!.attributes)).toEqual({ "db.system.name": "memory", "db.operation.name": "insertUser" })
      expect(spans.some((s) => s.name === "Lagrello.Storage.outboxStats")).toBe(true)
      expect(JSON.stringify(spans.map((s) => [s.name, [...s.attributes]]))).not.toContain("carol@example.com")
      // The wrapped storage still works.
      expect(yield* storage.getUser("tenant-1", "carol")).toEqual(Option.some({ userId: "carol", email: "carol@example.com" }))
      // No storage span starts a trace of its own (the outbox worker polls), nor one under an unsampled span.
      const count = spans.length
      yield* storage.getUser("tenant-1", "carol").pipe(Effect.withTracer(tracer))
      const unsampled = keptSpans(false)
      yield* storage.getUser("tenant-1", "carol").pipe(Effect.withSpan("unsampled"), Effect.withTracer(unsampled.tracer))
      expect(spans.length).toBe(count)
      expect(unsampled.spans.map((s) => s.name)).toEqual(["unsampled"])
    }).pipe(Effect.provide(Layer.merge(services(layerMemory), Layer.succeed(Tracing, tracingSettings(1))))))

  it.effect("names a route's span by its pattern, with the operation under it, and counts its answers by status", () =>
    Effect.gen(function*() {
      const { spans, tracer } = keptSpans()
      yield* TestClock.setTime(start)
      const tenantId = yield* setupTenant()
      yield* Users.create(tenantId, { userId: "dave", email: "dave@example.com" })
      const route = routes.find((r) => r.group === "users" && r.name === "get")!
      const labels = { route: "/v1/users/{userId}", method: "GET" }
      const before200 = yield* valueOf("lagrello_http_requests", { ...labels, status: "200" })
      const before404 = yield* valueOf("lagrello_http_requests", { ...labels, status: "404" })
      const request = (userId: string) => ({
        authorization: `Bearer ${adminToken}-Acme`,
        contentType: undefined,
        params: { userId },
        query: {},
        body: undefined
      })
      const ok = yield* route.handle(request("dave")).pipe(Effect.withTracer(tracer))
      expect(ok.status).toBe(200)
      const missing = yield* route.handle(request("nobody")).pipe(Effect.withTracer(tracer))
      expect(missing.status).toBe(404)
      expect((yield* valueOf("lagrello_http_requests", { ...labels, status: "200" })) - before200).toBe(1)
      expect((yield* valueOf("lagrello_http_requests", { ...labels, status: "404" })) - before404).toBe(1)
      const requestSpans = spans.filter((s) => s.name === "GET /v1/users/{userId}")
      expect(requestSpans).toHaveLength(2)
      expect(ok.traceId).toBe(requestSpans[0]!.traceId)
      expect(Object.fromEntries(requestSpans[0]!.attributes)).toMatchObject({
        "http.request.method": "GET",
        "http.route": "/v1/users/{userId}",
        "http.response.status_code": 200
      })
      expect(requestSpans[1]!.attributes.get("http.response.status_code")).toBe(404)
      const get = spans.find((s) => s.name === "Lagrello.Users.get" && s.parent === requestSpans[0]!.spanId)
      expect(get?.attributes.get("lagrello.user_id")).toBe("dave")
      const text = yield* metricsText
      expect(text).toContain('lagrello_http_requests_total{route="/v1/users/{userId}",method="GET",status="404"}')
      expect(text).not.toContain("dave@example.com")
    }).pipe(Effect.provide(Layer.mergeAll(services(layerMemory), layerClientRateLimiter(), Layer.succeed(Tracing, tracingSettings(1))))))

  it.effect("makes no span while tracing is off, and still counts the answers", () =>
    Effect.gen(function*() {
      const { spans, tracer } = keptSpans()
      yield* TestClock.setTime(start)
      const tenantId = yield* setupTenant()
      yield* Users.create(tenantId, { userId: "frank", email: "frank@example.com" })
      const route = routes.find((r) => r.group === "users" && r.name === "get")!
      const labels = { route: "/v1/users/{userId}", method: "GET", status: "200" }
      const before = yield* valueOf("lagrello_http_requests", labels)
      const answer = yield* route.handle({
        authorization: `Bearer ${adminToken}-Acme`,
        contentType: undefined,
        params: { userId: "frank" },
        query: {},
        body: undefined
      }).pipe(Effect.withTracer(tracer))
      expect(answer.status).toBe(200)
      expect(answer.traceId).toBeUndefined()
      expect(spans).toEqual([])
      expect((yield* valueOf("lagrello_http_requests", labels)) - before).toBe(1)
    }).pipe(Effect.provide(Layer.merge(services(layerMemory), layerClientRateLimiter()))))

  it.effect("makes no operation span under a span the sampler did not record", () =>
    Effect.gen(function*() {
      const { spans, tracer } = keptSpans(false)
      yield* Effect.either(Users.get("t", "grace")).pipe(Effect.withSpan("request"), Effect.withTracer(tracer))
      expect(spans.map((s) => s.name)).toEqual(["request"])
      const root = keptSpans(true)
      yield* spanned("Lagrello.Test.root", () => ({}), { root: true })(Effect.void).pipe(Effect.withTracer(root.tracer))
      yield* spanned("Lagrello.Test.child", () => ({}))(Effect.void).pipe(Effect.withTracer(root.tracer))
      expect(root.spans.map((s) => s.name)).toEqual(["Lagrello.Test.root"])
    }).pipe(Effect.provide(Layer.merge(services(layerMemory), Layer.succeed(Tracing, tracingSettings(1))))))

  it.effect("an operation on a user whose id is an e-mail address has no user id attribute", () =>
    Effect.gen(function*() {
      const { spans, tracer } = keptSpans()
      yield* Effect.either(Users.get("t", "erin@example.com")).pipe(Effect.withSpan("request"), Effect.withTracer(tracer))
      const get = spans.find((s) => s.name === "Lagrello.Users.get")
      expect(get).toBeDefined()
      expect([...get!.attributes.values()]).not.toContain("erin@example.com")
      expect(Object.fromEntries(get!.attributes)).toEqual({ "lagrello.tenant_id": "t" })
    }).pipe(Effect.provide(Layer.merge(services(layerMemory), Layer.succeed(Tracing, tracingSettings(1))))))

  it("traces one request in 1 / ratio, evenly, and makes no span for the others", () => {
    const pattern = (ratio: number, n: number) => {
      const settings = tracingSettings(ratio)
      return Array.from({ length: n }, () => (settings.sampleRequest() ? 1 : 0)).join("")
    }
    expect(pattern(0.25, 12)).toBe("000100010001")
    expect(pattern(1, 3)).toBe("111")
    expect(pattern(0, 3)).toBe("000")
    expect(pattern(0.01, 300).split("").filter((c) => c === "1")).toHaveLength(3)
  })

  it.effect("a request left out by the sampling makes no span at all, a sampled one its whole tree", () =>
    Effect.gen(function*() {
      const { spans, tracer } = keptSpans()
      yield* TestClock.setTime(start)
      const tenantId = yield* setupTenant()
      yield* Users.create(tenantId, { userId: "heidi", email: "heidi@example.com" })
      const route = routes.find((r) => r.group === "users" && r.name === "get")!
      const request = {
        authorization: `Bearer ${adminToken}-Acme`,
        contentType: undefined,
        params: { userId: "heidi" },
        query: {},
        body: undefined
      }
      const answers = []
      for (let i = 0; i < 4; i++) answers.push(yield* route.handle(request).pipe(Effect.withTracer(tracer)))
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200])
      expect(answers.map((a) => a.traceId === undefined)).toEqual([true, true, false, true])
      expect(spans.map((s) => s.name)).toEqual(["GET /v1/users/{userId}", "Lagrello.Users.get"])
    }).pipe(
      Effect.provide(Layer.mergeAll(services(layerMemory), layerClientRateLimiter(), Layer.succeed(Tracing, tracingSettings(1 / 3))))
    ))

  it.effect("a sampled request calls the storage with spans, the others the storage itself", () =>
    Effect.gen(function*() {
      const { spans, tracer } = keptSpans()
      yield* TestClock.setTime(start)
      const tenantId = yield* setupTenant()
      yield* Users.create(tenantId, { userId: "ivan", email: "ivan@example.com" })
      const route = routes.find((r) => r.group === "users" && r.name === "get")!
      const request = { authorization: `Bearer ${adminToken}-Acme`, contentType: undefined, params: { userId: "ivan" }, query: {}, body: undefined }
      const traced = tracedStorage(yield* Storage, "memory")
      const answers = []
      for (let i = 0; i < 2; i++) {
        answers.push(yield* route.handle(request).pipe(Effect.provideService(TracedStorage, traced), Effect.withTracer(tracer)))
      }
      expect(answers.map((a) => a.traceId === undefined)).toEqual([true, false])
      const requestSpan = spans.find((s) => s.name === "GET /v1/users/{userId}")!
      const get = spans.find((s) => s.name === "Lagrello.Users.get")!
      expect(spans.filter((s) => s.name === "Lagrello.Storage.findAccessToken").map((s) => s.parent)).toEqual([requestSpan.spanId])
      expect(spans.filter((s) => s.name === "Lagrello.Storage.getUser").map((s) => s.parent)).toEqual([get.spanId])
    }).pipe(
      Effect.provide(Layer.mergeAll(services(layerMemory), layerClientRateLimiter(), Layer.succeed(Tracing, tracingSettings(1 / 2))))
    ))

  it("renders counters, gauges and histograms as Prometheus text", () => {
    const counter = Metric.fromMetricKey(
      MetricKey.taggedWithLabels(MetricKey.counter("lagrello_test_things", { description: "Things\ncounted" }), [
        MetricLabel.make("kind", 'a "quoted" \\ kind')
      ])
    )
    const gauge = Metric.gauge("lagrello_test_level")
    const histogram = Metric.histogram("lagrello_test_seconds", MetricBoundaries.fromIterable([0.1, 1]))
    const other = Metric.counter("someone_elses_total")
    Effect.runSync(
      Effect.all([
        Metric.incrementBy(counter, 3),
        Metric.set(gauge, 2.5),
        Metric.update(histogram, 0.05),
        Metric.update(histogram, 0.5),
        Metric.update(histogram, 5),
        Metric.increment(other)
      ])
    )
    const text = prometheusText(Metric.unsafeSnapshot())
    expect(text).toContain("# HELP lagrello_test_things_total Things\\ncounted\n# TYPE lagrello_test_things_total counter\n")
    expect(text).toContain('lagrello_test_things_total{kind="a \\"quoted\\" \\\\ kind"} 3\n')
    expect(text).toContain("# TYPE lagrello_test_level gauge\nlagrello_test_level 2.5\n")
    expect(text).toContain(
      [
        "# TYPE lagrello_test_seconds histogram",
        'lagrello_test_seconds_bucket{le="0.1"} 1',
        'lagrello_test_seconds_bucket{le="1"} 2',
        'lagrello_test_seconds_bucket{le="+Inf"} 3',
        "lagrello_test_seconds_sum 5.55",
        "lagrello_test_seconds_count 3"
      ].join("\n")
    )
    expect(text).not.toContain("someone_elses")
  })
})
