/**
 * The audit events of the storage port (SPEC 6.1): what an operation hands a storage method so
 * that the event of its change is written in the same transaction as the change, the record an
 * event is stored as, and the reading position (cursor) of the pull API (SPEC 6.2).
 *
 * @since 0.0.0
 */
import { randomBytes } from "node:crypto"
import type { ClaimedDelivery, WebhookAttemptRecord, WebhookDeliveryRecord, WebhookDeliveryStatus, WebhookRecord } from "./Storage.js"

export type { EventData, EventType } from "../domain/events.js"
export { eventTypes } from "../domain/events.js"
import type { EventData, EventType } from "../domain/events.js"

/**
 * An event to write with a change: the adapter gives it its id in the write.
 * @since 0.0.0
 */
export interface NewEvent {
  readonly type: EventType
  readonly tenantId: string
  readonly occurredAt: number
  readonly userId?: string | undefined
  /** The public id of the access token that made the change, when one did. */
  readonly actor?: string | undefined
  readonly data: EventData
}

/**
 * A stored event.
 * @since 0.0.0
 */
export interface EventRecord extends NewEvent {
  /** `evt_...`: ids sort in the order they were handed out. */
  readonly id: string
  /** Where the event is in the log: after every event the reader saw before it. */
  readonly cursor: EventCursor
}

/**
 * The events a step writes for the outcome it had (none for an outcome that changed nothing).
 * Called by the adapter inside the step's transaction, with the step's result.
 * @since 0.0.0
 */
export type EventsOf<A> = (result: A) => ReadonlyArray<NewEvent>

/**
 * A position in the event log: `position` orders first (PostgreSQL: the id of the transaction
 * that wrote the event; SQLite and memory: the row's sequence number), then `id`.
 * @since 0.0.0
 */
export interface EventCursor {
  /** A non-negative integer, in decimal. */
  readonly position: string
  readonly id: string
}

/** The position before every event. @since 0.0.0 */
export const startCursor: EventCursor = { position: "0", id: "" }

/**
 * The cursor in its wire form: opaque to readers.
 * @since 0.0.0
 */
export const encodeCursor = (cursor: EventCursor): string =>
  Buffer.from(`${cursor.position}:${cursor.id}`, "utf8").toString("base64url")

/**
 * A cursor from its wire form, or undefined when it is not one this service handed out.
 * @since 0.0.0
 */
export const decodeCursor = (text: string): EventCursor | undefined => {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return undefined
  const match = /^(0|[1-9][0-9]{0,19}):((?:evt_[0-9a-z]{26})?)$/.exec(Buffer.from(text, "base64url").toString("utf8"))
  return match === null ? undefined : { position: match[1]!, id: match[2]! }
}

/** A query of the event log. @since 0.0.0 */
export interface EventQuery {
  readonly tenantId: string
  /** Events after this position (from the start when undefined). */
  readonly after: EventCursor | undefined
  readonly limit: number
  /** Only these types (every type when undefined). */
  readonly types?: ReadonlyArray<string> | undefined
}

/** A page of the event log and the position to read on from. @since 0.0.0 */
export interface EventLogPage {
  readonly events: ReadonlyArray<EventRecord>
  readonly next: EventCursor
}

const alphabet = "0123456789abcdefghijklmnopqrstuv"
const base32 = (n: number, width: number) => {
  let out = ""
  for (let i = 0; i < width; i++) {
    out = alphabet[n % 32]! + out
    n = Math.floor(n / 32)
  }
  return out
}

let lastMillis = 0
let counter = 0

/**
 * A new event id, `evt_` and 26 characters: the time in milliseconds (10), a counter (4) and 60
 * random bits (12). Ids handed out by one process sort in the order they were handed out, even
 * when the clock stands still or steps back.
 * @since 0.0.0
 */
export const newEventId = (occurredAt: number): string => {
  const millis = Math.max(Math.floor(occurredAt), lastMillis, 0)
  if (millis === lastMillis) {
    counter++
    if (counter >= 32 ** 4) {
      lastMillis = millis + 1
      counter = 0
    }
  } else {
    lastMillis = millis
    counter = 0
  }
  const random = randomBytes(8).readBigUInt64BE() >> 4n
  let tail = ""
  let r = random
  for (let i = 0; i < 12; i++) {
    tail = alphabet[Number(r % 32n)]! + tail
    r /= 32n
  }
  return `evt_${base32(lastMillis, 10)}${base32(counter, 4)}${tail}`
}

/**
 * Whether an event of `type` goes to an endpoint subscribed to `subscribed` (types, or `*`).
 * @since 0.0.0
 */
export const subscribes = (subscribed: ReadonlyArray<string>, type: string) =>
  subscribed.includes("*") || subscribed.includes(type)

/**
 * The wire form of an event (SPEC 6.1), as the pull API answers it and webhooks send it:
 * `occurredAt` in ISO 8601, `userId` and `actor` left out when there is none.
 * @since 0.0.0
 */
export const eventJson = (event: NewEvent & { readonly id: string }) => ({
  id: event.id,
  type: event.type,
  tenantId: event.tenantId,
  occurredAt: new Date(event.occurredAt).toISOString(),
  ...(event.userId === undefined ? {} : { userId: event.userId }),
  ...(event.actor === undefined ? {} : { actor: event.actor }),
  data: event.data
})

/** The columns of a stored event (SQLite and PostgreSQL). @internal */
export interface EventRow {
  id: string
  position: string | number
  tenant_id: string
  type: string
  occurred_at: number | string
  user_id: string | null
  actor: string | null
  data: string
}

/** @internal */
export const eventOfRow = (r: EventRow): EventRecord => ({
  id: r.id,
  cursor: { position: String(r.position), id: r.id },
  type: r.type as EventType,
  tenantId: r.tenant_id,
  occurredAt: Number(r.occurred_at),
  userId: r.user_id ?? undefined,
  actor: r.actor ?? undefined,
  data: JSON.parse(r.data) as EventData
})

/** Webhook event lists are stored as `,a,b,` so that one `LIKE` tells whether one holds a type. @internal */
export const encodeTypeList = (types: ReadonlyArray<string>) => `,${types.join(",")},`
/** @internal */
export const decodeTypeList = (text: string) => text.split(",").filter((t) => t.length > 0)

/**
 * Orders two positions of the log: negative when `a` comes first.
 * @since 0.0.0
 */
export const compareCursors = (a: EventCursor, b: EventCursor): number => {
  const pa = BigInt(a.position)
  const pb = BigInt(b.position)
  if (pa !== pb) return pa < pb ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** The columns of a webhook (SQLite and PostgreSQL). @internal */
export interface WebhookRow {
  id: string
  tenant_id: string
  url: string
  events: string
  enabled: number | boolean
  created_at: number | string
  secret: string
  previous_secret: string | null
  previous_until: number | string | null
  failing_since: number | string | null
}

const optionalNumber = (n: number | string | null) => (n === null ? undefined : Number(n))

/** @internal */
export const webhookOfRow = (r: WebhookRow): WebhookRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  url: r.url,
  events: decodeTypeList(r.events),
  enabled: r.enabled === true || r.enabled === 1,
  createdAt: Number(r.created_at),
  secret: r.secret,
  previousSecret: r.previous_secret ?? undefined,
  previousUntil: optionalNumber(r.previous_until),
  failingSince: optionalNumber(r.failing_since)
})

/** The columns of a delivery. @internal */
export interface DeliveryRow {
  webhook_id: string
  event_id: string
  tenant_id: string
  event_type: string
  payload: string
  created_at: number | string
  status: WebhookDeliveryStatus
  attempts: number
  next_attempt_at: number | string
  lease_until: number | string
}

/** The columns of an attempt. @internal */
export interface AttemptRow {
  webhook_id: string
  event_id: string
  attempted_at: number | string
  status_code: number | null
  duration_millis: number
  error: string | null
}

/** @internal */
export const attemptOfRow = (r: AttemptRow): WebhookAttemptRecord => ({
  attemptedAt: Number(r.attempted_at),
  statusCode: r.status_code ?? undefined,
  durationMillis: r.duration_millis,
  error: r.error ?? undefined
})

/** Deliveries with their attempts (given in attempt order). @internal */
export const deliveriesOfRows = (
  rows: ReadonlyArray<DeliveryRow>,
  attempts: ReadonlyArray<AttemptRow>
): Array<WebhookDeliveryRecord> =>
  rows.map((r) => ({
    id: r.event_id,
    webhookId: r.webhook_id,
    eventId: r.event_id,
    eventType: r.event_type,
    createdAt: Number(r.created_at),
    status: r.status,
    nextAttemptAt: Number(r.next_attempt_at),
    attempts: attempts.filter((a) => a.event_id === r.event_id && a.webhook_id === r.webhook_id).map(attemptOfRow)
  }))

/** @internal */
export const claimedOfRow = (r: DeliveryRow, webhook: WebhookRecord): ClaimedDelivery => ({
  id: r.event_id,
  tenantId: r.tenant_id,
  webhookId: r.webhook_id,
  eventId: r.event_id,
  payload: r.payload,
  createdAt: Number(r.created_at),
  attempts: r.attempts,
  leaseUntil: Number(r.lease_until),
  webhook
})
