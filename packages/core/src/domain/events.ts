/**
 * The wire models of events and webhooks (SPEC 6, beyond v1). Same rules as the v1 models: exact
 * property names, optional properties left out rather than sent as `null`, limits enforced on
 * decode (400, naming the property, never quoting the value).
 *
 * @since 0.0.0
 */
import * as Schema from "effect/Schema"

/**
 * Every event type, in the order of SPEC 6.1.
 * @since 0.0.0
 */
export const eventTypes = [
  "user.created",
  "user.updated",
  "user.deleted",
  "magic_link.sent",
  "magic_link.verified",
  "magic_link.rejected",
  "email_code.rejected",
  "totp.enrolled",
  "totp.confirmed",
  "totp.disabled",
  "totp.verified",
  "totp.rejected",
  "totp.locked",
  "recovery_codes.generated",
  "recovery_code.used",
  "recovery_code.rejected",
  "handoff.approved",
  "handoff.denied",
  "token.created",
  "token.revoked",
  "tenant.updated",
  "mail.delivered",
  "mail.failed",
  "mail.dropped",
  "webhook.disabled"
] as const

/** @since 0.0.0 */
export type EventType = (typeof eventTypes)[number]

const typeMessage = () => "must be an event type of SPEC 6.1 (such as user.created)"

/** @since 0.0.0 */
export const EventTypeSchema = Schema.Literal(...eventTypes).annotations({
  identifier: "EventType",
  message: () => `type ${typeMessage()}`
})

/**
 * What an event says beyond its type and user: never a token, code, secret or e-mail address.
 * @since 0.0.0
 */
export type EventData = Readonly<Record<string, string | number | boolean>>

const dateTime = Schema.String.annotations({ jsonSchema: { type: "string", format: "date-time" } })

/**
 * An event (SPEC 6.1): `actor` is the public id of the access token that made the change.
 * @since 0.0.0
 */
export const Event = Schema.Struct({
  id: Schema.String,
  type: EventTypeSchema,
  tenantId: Schema.String,
  occurredAt: dateTime,
  userId: Schema.optionalWith(Schema.String, { exact: true }),
  actor: Schema.optionalWith(Schema.String, { exact: true }),
  data: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean) })
}).annotations({ identifier: "Event" })

/** @since 0.0.0 */
export type Event = typeof Event.Type

/**
 * A page of events and the cursor to read on from (`after=next`).
 * @since 0.0.0
 */
export const EventPage = Schema.Struct({
  events: Schema.Array(Event),
  next: Schema.String.annotations({ description: "Pass as after= to read the events that follow" })
}).annotations({ identifier: "EventPage" })

/** @since 0.0.0 */
export type EventPage = typeof EventPage.Type

/**
 * A webhook's URL: absolute http(s), at most 2048 characters. (Where it points is checked by the
 * operation: loopback, private and link-local addresses are refused unless allowed.)
 * @since 0.0.0
 */
export const WebhookUrl = Schema.String.pipe(
  Schema.maxLength(2048, { message: () => "url must be at most 2048 characters" }),
  Schema.filter((s) => {
    if (!URL.canParse(s)) return "url must be an absolute URL"
    const u = new URL(s)
    if (u.protocol !== "http:" && u.protocol !== "https:") return "url must be an http(s) URL"
    return u.username === "" && u.password === "" ? true : "url must not hold a user name or password"
  })
).annotations({ identifier: "WebhookUrl", jsonSchema: { type: "string", format: "uri" } })

/**
 * The events a webhook receives: event types, or `"*"` for all.
 * @since 0.0.0
 */
export const WebhookEvents = Schema.Array(
  Schema.Union(Schema.Literal("*"), EventTypeSchema).annotations({ message: () => `events ${typeMessage()}, or *` })
).pipe(
  Schema.minItems(1, { message: () => "events must name at least one event type (or *)" }),
  Schema.maxItems(eventTypes.length + 1, { message: () => "events must not repeat types" })
)

/** @since 0.0.0 */
export const CreateWebhookRequest = Schema.Struct({
  url: WebhookUrl,
  events: WebhookEvents
}).annotations({ identifier: "CreateWebhookRequest" })

/** @since 0.0.0 */
export type CreateWebhookRequest = typeof CreateWebhookRequest.Type

const webhookFields = {
  id: Schema.String,
  url: Schema.String,
  events: Schema.Array(Schema.String),
  enabled: Schema.Boolean,
  createdAt: dateTime
}

/** A webhook endpoint as listed. @since 0.0.0 */
export const Webhook = Schema.Struct(webhookFields).annotations({ identifier: "Webhook" })

/** @since 0.0.0 */
export type Webhook = typeof Webhook.Type

/**
 * A webhook with its signing secret (`whsec_...`), shown this once: at creation and rotation.
 * @since 0.0.0
 */
export const WebhookWithSecret = Schema.Struct({
  ...webhookFields,
  secret: Schema.String.annotations({ jsonSchema: { type: "string", format: "password" } })
}).annotations({ identifier: "WebhookWithSecret" })

/** @since 0.0.0 */
export type WebhookWithSecret = typeof WebhookWithSecret.Type

/** @since 0.0.0 */
export const WebhookList = Schema.Struct({ data: Schema.Array(Webhook) }).annotations({ identifier: "WebhookList" })

/** @since 0.0.0 */
export type WebhookList = typeof WebhookList.Type

/** One attempt at a delivery. @since 0.0.0 */
export const WebhookAttempt = Schema.Struct({
  attemptedAt: dateTime,
  statusCode: Schema.optionalWith(Schema.Number, { exact: true }),
  durationMs: Schema.Number,
  error: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "WebhookAttempt" })

/** An event's delivery to a webhook; its id is the event's id (and the `webhook-id` header). @since 0.0.0 */
export const WebhookDelivery = Schema.Struct({
  id: Schema.String,
  eventType: Schema.String,
  createdAt: dateTime,
  status: Schema.Literal("pending", "delivered", "failed"),
  nextAttemptAt: Schema.optionalWith(dateTime, { exact: true }),
  attempts: Schema.Array(WebhookAttempt)
}).annotations({ identifier: "WebhookDelivery" })

/** @since 0.0.0 */
export type WebhookDelivery = typeof WebhookDelivery.Type

/** @since 0.0.0 */
export const WebhookDeliveryList = Schema.Struct({ data: Schema.Array(WebhookDelivery) }).annotations({
  identifier: "WebhookDeliveryList"
})

/** @since 0.0.0 */
export type WebhookDeliveryList = typeof WebhookDeliveryList.Type
