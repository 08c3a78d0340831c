/**
 * The service's metrics (SPEC 7.1), as Effect `Metric`s in Effect's global registry: exported over
 * OTLP by `@lagrello/core/otel` when configured, rendered as Prometheus text by {@link prometheusText}.
 * Every label is bounded and never holds a token, code, secret or e-mail address: route patterns
 * (never raw paths), statuses, and fixed outcome words.
 *
 * Labelled metrics are made once per label combination and kept: an update of Effect's
 * `Metric.tagged` looks its key up in the registry every time (about a microsecond), an update of
 * a metric made from a labelled key (`Metric.fromMetricKey`) only the first time.
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import * as MetricLabel from "effect/MetricLabel"
import * as Schedule from "effect/Schedule"
import * as Tracer from "effect/Tracer"
import { Storage } from "../storage/Storage.js"

/** Metric names, as exported (OTLP) and in Prometheus text (counters with `_total` added there). */
export const metricNames = {
  requests: "lagrello_http_requests",
  requestDuration: "lagrello_http_request_duration_seconds",
  sends: "lagrello_sends",
  verifications: "lagrello_verifications",
  lockouts: "lagrello_lockouts",
  outboxDepth: "lagrello_outbox_depth",
  outboxOldestAge: "lagrello_outbox_oldest_age_seconds",
  deliveryAttempts: "lagrello_delivery_attempts"
} as const

type Labels = Readonly<Record<string, string>>

const labelled = <K extends MetricKey.MetricKey.Untyped>(make: () => K) => {
  const cache = new Map<string, K>()
  return (labels: Labels): K => {
    const id = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",")
    let key = cache.get(id)
    if (key === undefined) {
      key = MetricKey.taggedWithLabels(make(), Object.entries(labels).map(([k, v]) => MetricLabel.make(k, v))) as K
      cache.set(id, key)
    }
    return key
  }
}

const counterKey = (name: string, description: string) =>
  labelled(() => MetricKey.counter(name, { description, incremental: true }))

const requestsKey = counterKey(metricNames.requests, "HTTP requests answered, by route pattern, method and status")
const sendsKey = counterKey(metricNames.sends, "Sign-in mails queued in the outbox, by kind")
const verificationsKey = counterKey(metricNames.verifications, "Verifications by method and outcome")
const lockoutsKey = counterKey(metricNames.lockouts, "Lock-outs started by too many wrong codes, by method")
const deliveryKey = counterKey(metricNames.deliveryAttempts, "Delivery attempts by kind (mail, webhook) and outcome")

/** Seconds: 1 ms to about 8 s. */
const durationBoundaries = MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 14 })
const durationKey = labelled(() =>
  MetricKey.histogram(metricNames.requestDuration, durationBoundaries, "HTTP request latency in seconds, by route pattern and method")
)

type CounterMetric = Metric.Metric.Counter<number>

const counters = new Map<MetricKey.MetricKey.Untyped, CounterMetric>()
const counterOf = (key: MetricKey.MetricKey.Counter<number>): CounterMetric => {
  let metric = counters.get(key)
  if (metric === undefined) {
    metric = Metric.fromMetricKey(key)
    counters.set(key, metric)
  }
  return metric
}

/**
 * The recorder of one route's requests: counts each answer by status and records its latency.
 * Synchronous, for the route's one program (see `server/Route.ts`).
 * @since 0.0.0
 */
export interface RequestRecorder {
  readonly record: (status: number, seconds: number) => void
}

/**
 * A recorder for a route (`route` is its pattern, e.g. `/v1/users/{userId}`).
 * @since 0.0.0
 */
export const requestRecorder = (method: string, route: string): RequestRecorder => {
  const byStatus = new Map<number, CounterMetric>()
  const duration = Metric.fromMetricKey(durationKey({ route, method }))
  return {
    record: (status, seconds) => {
      let counter = byStatus.get(status)
      if (counter === undefined) {
        counter = counterOf(requestsKey({ route, method, status: String(status) }))
        byStatus.set(status, counter)
      }
      counter.unsafeUpdate(1, [])
      duration.unsafeUpdate(seconds, [])
    }
  }
}

/**
 * What a verification can end as.
 * @since 0.0.0
 */
export type VerificationOutcome = "accepted" | "rejected" | "locked" | "not_found" | "invalid" | "unavailable"

/**
 * The verification methods counted.
 * @since 0.0.0
 */
export type VerificationMethod = "totp" | "magic_link" | "email_code" | "recovery_code"

const outcomeOf = <A, E>(exit: Exit.Exit<A, E>): VerificationOutcome => {
  if (Exit.isSuccess(exit)) return "accepted"
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  const tag = typeof failure === "object" && failure !== null && "_tag" in failure ? failure._tag : undefined
  switch (tag) {
    case "Unauthorized":
      return "rejected"
    case "TooManyRequests":
      return "locked"
    case "NotFound":
      return "not_found"
    case "InvalidPayload":
      return "invalid"
    default:
      return "unavailable"
  }
}

/**
 * Counts a verification by its outcome (from its exit: success, or the typed error).
 * @since 0.0.0
 */
export const countVerification = (method: VerificationMethod) => {
  // The counters of this method, made once; counted in the one step that sees the outcome (a
  // verification is on the hot path: each step of Effect's costs a fraction of a microsecond).
  const byOutcome = new Map<VerificationOutcome, CounterMetric>()
  const count = (outcome: VerificationOutcome) => {
    let counter = byOutcome.get(outcome)
    if (counter === undefined) {
      counter = counterOf(verificationsKey({ method, outcome }))
      byOutcome.set(outcome, counter)
    }
    counter.unsafeUpdate(1, [])
  }
  return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.matchCauseEffect(self, {
      onFailure: (cause) => {
        count(outcomeOf(Exit.failCause(cause)))
        return Effect.failCause(cause)
      },
      onSuccess: (value) => {
        count("accepted")
        return Effect.succeed(value)
      }
    })
}

/**
 * Counts a lock-out started by a wrong code.
 * @since 0.0.0
 */
export const countLockout = (method: VerificationMethod): Effect.Effect<void> =>
  Metric.increment(counterOf(lockoutsKey({ method })))

/**
 * Counts a sign-in mail queued (`magic_link`, with the code the mail may carry).
 * @since 0.0.0
 */
export const countSend = (kind: "magic_link"): Effect.Effect<void> => Metric.increment(counterOf(sendsKey({ kind })))

/**
 * What a delivery attempt ended as: `delivered`, `retry` (failed, due again later), `failed`
 * (given up), `expired` (dropped: its link expired first), `lost` (not started, its lease lapsed),
 * `unrecorded` (the outcome could not be written).
 * @since 0.0.0
 */
export type DeliveryOutcome = "delivered" | "retry" | "failed" | "expired" | "lost" | "unrecorded"

/**
 * Counts a delivery attempt, by kind (`mail`; `webhook` for webhook deliveries) and outcome.
 * @since 0.0.0
 */
export const countDelivery = (kind: string, outcome: DeliveryOutcome): Effect.Effect<void> =>
  Metric.increment(counterOf(deliveryKey({ kind, outcome })))

/**
 * How the service makes spans (SPEC 7.1). Off by default: each of Effect's spans costs several
 * microseconds even with no tracer to send it to (measured: about 7 us each, with three of them a
 * tenth of a wrong-code TOTP request), so an untraced server makes none. On, `sampleRequest`
 * decides for each request whether it is traced at all: a request left out makes no span, not
 * even its own (an unrecorded span still costs its making).
 * @since 0.0.0
 */
export interface TracingSettings {
  readonly enabled: boolean
  readonly sampleRequest: () => boolean
}

/**
 * The service's {@link TracingSettings} (default: off).
 * @since 0.0.0
 * @category tags
 */
export class Tracing extends Context.Reference<Tracing>()("@lagrello/core/Tracing", {
  defaultValue: (): TracingSettings => ({ enabled: false, sampleRequest: () => false })
}) {}

/**
 * Tracing on, keeping one request in `1 / ratio` (every n-th: even and deterministic; 1 keeps all,
 * 0 none). Spans outside requests (the outbox worker's) are all made; the tracer's own sampler
 * still decides what is recorded.
 * @since 0.0.0
 */
export const tracingSettings = (ratio: number): TracingSettings => {
  if (!(ratio > 0)) return { enabled: true, sampleRequest: () => false }
  if (ratio >= 1) return { enabled: true, sampleRequest: () => true }
  const period = Math.max(1, Math.round(1 / ratio))
  let count = 0
  return {
    enabled: true,
    sampleRequest: () => {
      count = count + 1 >= period ? 0 : count + 1
      return count === 0
    }
  }
}

/**
 * Whether a span is worth making here: tracing is on, and the span under way (if any) is sampled.
 * `root`: whether a span may start a trace where there is none (the outbox worker's deliveries
 * may; operations and storage calls may not: they run under a request, which was either sampled
 * and has its span, or left out).
 */
const tracedIn = (context: Context.Context<never>, root: boolean): boolean => {
  if (!Context.get(context, Tracing).enabled) return false
  const parent = Context.getOption(context, Tracer.ParentSpan)
  return parent._tag === "None" ? root : parent.value.sampled
}

/**
 * Runs `self` in a span named `name` when {@link Tracing} is on and the current span is sampled;
 * as it is otherwise. `options` is evaluated only when the span is made.
 * @since 0.0.0
 */
export const spanned = (
  name: string,
  options: () => Tracer.SpanOptions,
  { root = false }: { readonly root?: boolean } = {}
) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime<A, E, R>((fiber) =>
    tracedIn(fiber.currentContext, root) ? Effect.withSpan(self, name, { ...options(), captureStackTrace: false }) : self
  )

/**
 * Whether a request is traced: tracing is on and the request is sampled (see {@link Tracing}).
 * @since 0.0.0
 */
export const isRequestTraced = (context: Context.Context<never>): boolean => {
  const tracing = Context.get(context, Tracing)
  return tracing.enabled && tracing.sampleRequest()
}

const outboxDepth = Metric.gauge(metricNames.outboxDepth, { description: "Pending messages in the outbox" })
const outboxOldestAge = Metric.gauge(metricNames.outboxOldestAge, {
  description: "Age of the oldest pending message of the outbox, in seconds (0 when none)"
})

/**
 * Reads the outbox's depth and oldest age once into their gauges.
 * @since 0.0.0
 */
export const sampleOutbox: Effect.Effect<void, never, Storage> = Effect.gen(function*() {
  const storage = yield* Storage
  const stats = yield* storage.outboxStats
  const now = yield* Clock.currentTimeMillis
  yield* Metric.set(outboxDepth, stats.pending)
  yield* Metric.set(outboxOldestAge, stats.oldestCreatedAt === undefined ? 0 : Math.max(0, (now - stats.oldestCreatedAt) / 1000))
}).pipe(
  Effect.catchTag("Unavailable", () => Effect.void),
  spanned("Lagrello.Telemetry.sampleOutbox", () => ({}), { root: true })
)

/**
 * Samples the outbox gauges now and every `interval` (default 15 s) in the background, until
 * the layer's scope closes.
 * @since 0.0.0
 * @category layers
 */
export const layerOutboxSampler = (options: { readonly interval?: Duration.DurationInput } = {}): Layer.Layer<never, never, Storage> =>
  Layer.scopedDiscard(
    Effect.forkScoped(Effect.repeat(sampleOutbox, Schedule.spaced(options.interval ?? Duration.seconds(15))))
  )

/**
 * The span attributes of an operation on a user: the tenant id and the user id, except a user id
 * that looks like an e-mail address (an application may use addresses as ids; no attribute holds
 * one).
 * @since 0.0.0
 */
export const userAttributes = (tenantId: string, userId: string): Record<string, string> =>
  userId.includes("@")
    ? { "lagrello.tenant_id": tenantId }
    : { "lagrello.tenant_id": tenantId, "lagrello.user_id": userId }

/**
 * An operation's span, `Lagrello.<Capability>.<name>`, with the tenant and user ids (made only
 * under a sampled span while {@link Tracing} is on, see {@link spanned}).
 * @since 0.0.0
 */
export const operationSpan = (name: string, tenantId: string, userId?: string) =>
  spanned(name, () => ({
    attributes: userId === undefined ? { "lagrello.tenant_id": tenantId } : userAttributes(tenantId, userId)
  }))
