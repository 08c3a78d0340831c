/**
 * The delivery worker of webhooks (SPEC 6.3), on the outbox machinery the mail uses: deliveries
 * are written with their events, in the same transaction, and workers on every replica lease due
 * ones (`Storage.claimWebhookDeliveries`: a leased delivery is invisible to other workers, so one
 * replica at a time sends it), sign them and POST them.
 *
 * - Body: the event's JSON. Headers (Standard Webhooks): `webhook-id` (the event's id, the same
 *   on every attempt: the receiver's idempotency key), `webhook-timestamp` (seconds) and
 *   `webhook-signature` (`v1,<base64 HMAC-SHA-256>` under the current secret, and under the
 *   previous one during a rotation's 24-hour overlap).
 * - 2xx within the timeout (10 s) is success; anything else is retried with exponential back-off
 *   (5 s, 10 s, 20 s ... at most 1 hour) for up to 3 days, then the delivery is `failed`.
 * - An endpoint that has failed every attempt for 24 hours is disabled (`webhook.disabled`); a
 *   manual retry enables it again.
 * - Each connection resolves the host again and refuses loopback, private and link-local
 *   addresses (unless allowed), so DNS rebinding after creation cannot reach them.
 * - The lease (60 s) outlasts an attempt, whose outcome is written only while the lease holds.
 *   Each delivery is uninterruptible once started: a worker being stopped finishes the requests in
 *   flight (graceful shutdown); unstarted ones are due again when their lease ends.
 *
 * Logs name the webhook and event ids, never the secret or the body.
 *
 * @since 0.0.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as http from "node:http"
import * as https from "node:https"
import type { Unavailable } from "../domain/errors.js"
import { Policies } from "../domain/policies.js"
import { Sealer } from "../crypto/Sealer.js"
import { secretContext } from "../operations/Webhooks.js"
import type { ClaimedDelivery, WebhookAttemptRecord } from "../storage/Storage.js"
import { Storage } from "../storage/Storage.js"
import { signedHeaders } from "./signature.js"
import { guardedLookup } from "./target.js"
import { countDelivery, type DeliveryOutcome, spanned } from "../telemetry/Telemetry.js"

/** @since 0.0.0 */
export interface WebhookWorkerOptions {
  /** The most deliveries one pass leases. Default 200. */
  readonly batchSize?: number | undefined
  /** Requests of a pass in flight at once. Default 64. */
  readonly concurrency?: number | undefined
  /** The wait after a pass that did not fill its batch. Default 500 ms. */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** How long a request may take. Default 10 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

/** What one pass did. @since 0.0.0 */
export interface WebhookReport {
  readonly claimed: number
  readonly delivered: number
  readonly retried: number
  readonly failed: number
  readonly disabled: number
}

const leaseMillis = 60_000
const firstRetryMillis = 5_000
const maxRetryMillis = 60 * 60 * 1000
/** Deliveries are retried for up to 3 days. @since 0.0.0 */
export const retryForMillis = 3 * 24 * 60 * 60 * 1000
/** An endpoint failing every attempt this long is disabled: 24 hours. @since 0.0.0 */
export const disableAfterMillis = 24 * 60 * 60 * 1000

/** The wait before the attempt after `attempts` failed ones. @since 0.0.0 */
export const retryDelayMillis = (attempts: number) =>
  Math.min(maxRetryMillis, firstRetryMillis * 2 ** Math.max(0, attempts - 1))

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 64 })
}

interface Answer {
  readonly statusCode: number | undefined
  readonly error: string | undefined
  readonly durationMillis: number
}

/** One POST, never failing: its status, or why there is none. */
const post = (
  url: string,
  headers: Record<string, string>,
  body: string,
  allowPrivate: boolean,
  timeoutMillis: number
): Effect.Effect<Answer> =>
  Effect.async<Answer>((resume) => {
    const started = performance.now()
    const target = new URL(url)
    const client = target.protocol === "https:" ? https : http
    let settled = false
    const done = (statusCode: number | undefined, error: string | undefined) => {
      if (settled) return
      settled = true
      resume(Effect.succeed({ statusCode, error, durationMillis: Math.round(performance.now() - started) }))
    }
    const request = client.request(target, {
      method: "POST",
      agent: target.protocol === "https:" ? agents.https : agents.http,
      lookup: guardedLookup(allowPrivate),
      headers: {
        ...headers,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "user-agent": "Lagrello-Webhooks/1"
      },
      timeout: timeoutMillis
    }, (response) => {
      response.resume()
      response.on("end", () => {
        const status = response.statusCode
        done(status, status !== undefined && status >= 200 && status < 300 ? undefined : `HTTP ${status}`)
      })
      response.on("error", (error) => done(response.statusCode, error.message))
    })
    request.on("timeout", () => {
      request.destroy(new Error(`timed out after ${Math.round(timeoutMillis / 1000)} s`))
    })
    request.on("error", (error) => done(undefined, error.message))
    request.end(body)
    return Effect.sync(() => request.destroy())
  })

type Outcome = "delivered" | "retried" | "failed" | "disabled" | "lost"

/** The delivery metric's outcome of each (`unrecorded`: the database could not take the outcome). */
const deliveryOutcome: Record<Outcome | "unrecorded", DeliveryOutcome> = {
  delivered: "delivered",
  retried: "retry",
  failed: "failed",
  disabled: "failed",
  lost: "lost",
  unrecorded: "unrecorded"
}

const deliver = (claimed: ClaimedDelivery, timeoutMillis: number): Effect.Effect<Outcome, Unavailable, Storage | Sealer | Policies> =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const sealer = yield* Sealer
    const policies = yield* Policies
    const webhook = claimed.webhook
    const now = yield* Clock.currentTimeMillis
    const context = secretContext(webhook.tenantId, webhook.id)
    const sealed = webhook.previousSecret !== undefined && (webhook.previousUntil ?? 0) > now
      ? [webhook.secret, webhook.previousSecret]
      : [webhook.secret]
    const secrets = yield* Effect.forEach(sealed, (s) => sealer.open(s, context)).pipe(
      Effect.catchTag("SealError", (error) =>
        Effect.zipRight(
          Effect.logError("Webhooks: a secret could not be opened with the configured keys", { reason: error.reason }),
          Effect.succeed(undefined)
        ))
    )
    const answer: Answer = secrets === undefined
      ? { statusCode: undefined, error: "the signing secret cannot be opened with the configured keys", durationMillis: 0 }
      : yield* post(
        webhook.url,
        signedHeaders(secrets, claimed.eventId, Math.floor(now / 1000), claimed.payload),
        claimed.payload,
        policies.webhookAllowPrivate,
        timeoutMillis
      )
    const attempt: WebhookAttemptRecord = { attemptedAt: now, ...answer }
    if (answer.error === undefined) {
      const written = yield* storage.recordWebhookAttempt({ claimed, attempt, outcome: { _tag: "Delivered" } })
      return written ? "delivered" : "lost"
    }
    const after = yield* Clock.currentTimeMillis
    const nextAttemptAt = after + retryDelayMillis(claimed.attempts)
    const giveUp = nextAttemptAt > claimed.createdAt + retryForMillis
    const failingSince = webhook.failingSince ?? now
    const disable = now - failingSince >= disableAfterMillis
      ? [{
        type: "webhook.disabled" as const,
        tenantId: webhook.tenantId,
        occurredAt: now,
        data: { webhookId: webhook.id, failingSince: new Date(failingSince).toISOString() }
      }]
      : undefined
    const written = yield* storage.recordWebhookAttempt({
      claimed,
      attempt,
      outcome: giveUp ? { _tag: "Failed" } : { _tag: "Retry", nextAttemptAt },
      disable
    })
    if (!written) return "lost"
    yield* Effect.logWarning(`Webhooks: attempt ${claimed.attempts} failed: ${answer.error}`)
    return disable !== undefined ? "disabled" : giveUp ? "failed" : "retried"
  }).pipe(Effect.annotateLogs({ webhook: claimed.webhookId, webhookEvent: claimed.eventId }))

interface Settings {
  readonly batchSize: number
  readonly concurrency: number
  readonly pollInterval: Duration.Duration
  readonly timeoutMillis: number
}

const settingsOf = (options: WebhookWorkerOptions): Settings => ({
  batchSize: options.batchSize ?? 200,
  concurrency: options.concurrency ?? 64,
  pollInterval: Duration.decode(options.pollInterval ?? Duration.millis(500)),
  timeoutMillis: Duration.toMillis(options.timeout ?? Duration.seconds(10))
})

const runPass = (settings: Settings): Effect.Effect<WebhookReport, Unavailable, Storage | Sealer | Policies> =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const claimed = yield* storage.claimWebhookDeliveries(yield* Clock.currentTimeMillis, leaseMillis, settings.batchSize)
    if (claimed.length === 0) return { claimed: 0, delivered: 0, retried: 0, failed: 0, disabled: 0 }
    const outcomes = yield* Effect.forEach(
      claimed,
      (c) =>
        // Once started, a delivery is sent and recorded even while the worker is being stopped.
        Effect.uninterruptible(
          deliver(c, settings.timeoutMillis).pipe(
            Effect.catchTag("Unavailable", (error) =>
              Effect.as(Effect.logError(`Webhooks: the outcome could not be recorded: ${error.message}`), "unrecorded" as const)),
            Effect.tap((outcome) => countDelivery("webhook", deliveryOutcome[outcome])),
            spanned("Lagrello.Webhooks.deliver", () => ({
              kind: "producer",
              attributes: {
                "lagrello.tenant_id": c.tenantId,
                "lagrello.webhook_id": c.webhookId,
                "lagrello.webhook.attempt": c.attempts
              }
            }), { root: true }),
            Effect.map((outcome) => (outcome === "unrecorded" ? "lost" : outcome))
          )
        ),
      { concurrency: settings.concurrency }
    )
    const count = (o: Outcome) => outcomes.filter((x) => x === o).length
    return {
      claimed: claimed.length,
      delivered: count("delivered"),
      retried: count("retried"),
      failed: count("failed"),
      disabled: count("disabled")
    }
  })

/**
 * One delivery pass: leases due deliveries and sends them (see the module documentation). Fails
 * only when they cannot be leased. All times but the request's own come from Effect's `Clock`.
 * @since 0.0.0
 */
export const deliverWebhooksDue = (
  options: WebhookWorkerOptions = {}
): Effect.Effect<WebhookReport, Unavailable, Storage | Sealer | Policies> => runPass(settingsOf(options))

/**
 * The worker loop: a pass, another at once if it filled its batch, else after `pollInterval`. A
 * failed pass is logged; the loop never ends by itself.
 * @since 0.0.0
 */
export const runWebhookWorker = (options: WebhookWorkerOptions = {}): Effect.Effect<never, never, Storage | Sealer | Policies> => {
  const settings = settingsOf(options)
  const pass = runPass(settings).pipe(
    Effect.map((report) => report.claimed >= settings.batchSize),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.interrupt
        : Effect.as(Effect.logError("Webhooks: a delivery pass failed; trying again later", cause), false)
    )
  )
  return Effect.forever(Effect.flatMap(pass, (full) => (full ? Effect.yieldNow() : Effect.sleep(settings.pollInterval)))).pipe(
    Effect.annotateLogs({ service: "webhook-worker" })
  )
}

/**
 * The webhook worker as a scoped layer; closing its scope stops it gracefully (requests in
 * flight finish). Run it on every replica: the leases keep them from sending a delivery twice at once.
 * @since 0.0.0
 * @category layers
 */
export const layerWebhookWorker = (options: WebhookWorkerOptions = {}): Layer.Layer<never, never, Storage | Sealer | Policies> =>
  Layer.scopedDiscard(Effect.forkScoped(runWebhookWorker(options)))
