/**
 * Webhook endpoints of a tenant (SPEC 6.3): create (the signing secret shown once), list, delete,
 * rotate the secret (the old one keeps signing beside the new for 24 hours), the delivery log and
 * a manual retry. Secrets are sealed with the `Sealer` (AES-256-GCM under the encryption keys,
 * bound to the webhook), so a key rotation can re-seal them. Deliveries are written with their
 * events and sent by the webhook worker (`webhooks/WebhookWorker.ts`).
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InvalidPayload, NotFound } from "../domain/errors.js"
import type { CreateWebhookRequest, Webhook, WebhookDelivery, WebhookWithSecret } from "../domain/events.js"
import { Policies } from "../domain/policies.js"
import { Sealer } from "../crypto/Sealer.js"
import { SecureRandom } from "../crypto/SecureRandom.js"
import type { WebhookDeliveryRecord, WebhookRecord } from "../storage/Storage.js"
import { Storage } from "../storage/Storage.js"
import { formatSecret } from "../webhooks/signature.js"
import { checkTarget } from "../webhooks/target.js"
import { operationSpan } from "../telemetry/Telemetry.js"

/** How long the previous secret keeps signing after a rotation: 24 hours. @since 0.0.0 */
export const rotationOverlapMillis = 24 * 60 * 60 * 1000

/**
 * What a webhook's secrets are bound to: a sealed secret copied to another webhook fails to open.
 * @since 0.0.0
 */
export const secretContext = (tenantId: string, webhookId: string) => `webhook/${tenantId}/${webhookId}`

const iso = (millis: number) => new Date(millis).toISOString()

const toWebhook = (w: WebhookRecord): Webhook => ({
  id: w.id,
  url: w.url,
  events: w.events,
  enabled: w.enabled,
  createdAt: iso(w.createdAt)
})

const notFound = new NotFound({ message: "No webhook with this id in this tenant" })

const span = (name: string, tenantId: string) => operationSpan(`Lagrello.Webhooks.${name}`, tenantId)

const newSecret = Effect.flatMap(SecureRandom, (random) => Effect.map(random.bytes(32), formatSecret))

/**
 * Adds a webhook; answers it with its secret (`whsec_...`), shown this once. `InvalidPayload`
 * when the URL's host does not resolve, or resolves to a loopback, private or link-local
 * address while `webhookAllowPrivate` is off.
 * @since 0.0.0
 */
export const create = (tenantId: string, request: CreateWebhookRequest) =>
  Effect.gen(function* () {
    const policies = yield* Policies
    const problem = yield* checkTarget(request.url, policies.webhookAllowPrivate)
    if (problem !== undefined) return yield* new InvalidPayload({ message: problem })
    const random = yield* SecureRandom
    const sealer = yield* Sealer
    const storage = yield* Storage
    const id = `wh_${Buffer.from(yield* random.bytes(16)).toString("base64url")}`
    const secret = yield* newSecret
    const events = request.events.includes("*") ? ["*"] : [...new Set(request.events)]
    const record: WebhookRecord = {
      id,
      tenantId,
      url: request.url,
      events,
      enabled: true,
      createdAt: yield* Clock.currentTimeMillis,
      secret: yield* sealer.seal(secret, secretContext(tenantId, id)),
      previousSecret: undefined,
      previousUntil: undefined,
      failingSince: undefined
    }
    yield* storage.insertWebhook(record)
    return { ...toWebhook(record), secret } satisfies WebhookWithSecret
  }).pipe(span("create", tenantId))

/** The tenant's webhooks, oldest first. @since 0.0.0 */
export const list = (tenantId: string) =>
  Effect.flatMap(Storage, (storage) => storage.listWebhooks(tenantId)).pipe(
    Effect.map((all) => ({ data: all.map(toWebhook) })),
    span("list", tenantId)
  )

/** Deletes a webhook with its deliveries. @since 0.0.0 */
export const remove = (tenantId: string, id: string) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    if (!(yield* storage.deleteWebhook(tenantId, id))) return yield* notFound
  }).pipe(span("delete", tenantId))

/**
 * A new secret, shown this once; the previous one keeps signing beside it for 24 hours.
 * @since 0.0.0
 */
export const rotateSecret = (tenantId: string, id: string) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const sealer = yield* Sealer
    const secret = yield* newSecret
    const now = yield* Clock.currentTimeMillis
    const rotated = yield* storage.rotateWebhookSecret(
      tenantId,
      id,
      yield* sealer.seal(secret, secretContext(tenantId, id)),
      now + rotationOverlapMillis
    )
    if (Option.isNone(rotated)) return yield* notFound
    return { ...toWebhook(rotated.value), secret } satisfies WebhookWithSecret
  }).pipe(span("rotateSecret", tenantId))

const toDelivery = (d: WebhookDeliveryRecord): WebhookDelivery => ({
  id: d.id,
  eventType: d.eventType,
  createdAt: iso(d.createdAt),
  status: d.status,
  ...(d.status === "pending" ? { nextAttemptAt: iso(d.nextAttemptAt) } : {}),
  attempts: d.attempts.map((a) => ({
    attemptedAt: iso(a.attemptedAt),
    ...(a.statusCode === undefined ? {} : { statusCode: a.statusCode }),
    durationMs: a.durationMillis,
    ...(a.error === undefined ? {} : { error: a.error })
  }))
})

/** The webhook's latest 100 deliveries, newest first, each with its attempts. @since 0.0.0 */
export const deliveries = (tenantId: string, id: string) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    if (Option.isNone(yield* storage.getWebhook(tenantId, id))) return yield* notFound
    return { data: (yield* storage.listWebhookDeliveries(tenantId, id, 100)).map(toDelivery) }
  }).pipe(span("deliveries", tenantId))

/**
 * Makes a delivery due now (also a failed one); a webhook disabled for its failures is enabled
 * again.
 * @since 0.0.0
 */
export const retry = (tenantId: string, id: string, deliveryId: string) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const retried = yield* storage.retryWebhookDelivery(tenantId, id, deliveryId, yield* Clock.currentTimeMillis)
    if (!retried) return yield* new NotFound({ message: "No delivery with this id for this webhook in this tenant" })
  }).pipe(span("retry", tenantId))

/**
 * Makes every failed delivery of a webhook (created at or after `since`, when given) due now, and
 * enables the webhook again when there was one; answers how many. `NotFound` for an unknown
 * webhook.
 * @since 0.0.0
 */
export const retryFailed = (tenantId: string, id: string, options: { readonly since?: number | undefined } = {}) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    if (Option.isNone(yield* storage.getWebhook(tenantId, id))) return yield* notFound
    return yield* storage.retryFailedWebhookDeliveries(tenantId, id, options.since ?? 0, yield* Clock.currentTimeMillis)
  }).pipe(span("retryFailed", tenantId))
