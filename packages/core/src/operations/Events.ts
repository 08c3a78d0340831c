/**
 * The event log (SPEC 6.1, 6.2): how operations describe the events of their changes, and the
 * pull API's reading of the log.
 *
 * An operation builds its events with {@link event} from a {@link Stamp} (tenant, time, actor)
 * and hands them to the storage method that makes the change, which writes them in the same
 * transaction. The actor is the public id of the access token of the request, set by the server's
 * route ({@link currentActor}); changes made by the service itself (the outbox worker) have none.
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { InvalidPayload } from "../domain/errors.js"
import type { EventData, EventRecord, EventType, NewEvent } from "../storage/events.js"
import { decodeCursor, encodeCursor, eventJson } from "../storage/events.js"
import { Storage } from "../storage/Storage.js"
import { operationSpan } from "../telemetry/Telemetry.js"

/**
 * The public id of the access token of the request being served (undefined outside a request).
 * @since 0.0.0
 */
export const currentActor: FiberRef.FiberRef<string | undefined> = FiberRef.unsafeMake<string | undefined>(undefined)

/** What every event of one change shares. @since 0.0.0 */
export interface Stamp {
  readonly tenantId: string
  readonly occurredAt: number
  readonly actor: string | undefined
}

/**
 * The stamp of a change made now (or at `occurredAt`) in the tenant, by the current actor.
 * @since 0.0.0
 */
export const stamp = (tenantId: string, occurredAt?: number): Effect.Effect<Stamp> =>
  Effect.gen(function* () {
    return {
      tenantId,
      occurredAt: occurredAt ?? (yield* Clock.currentTimeMillis),
      actor: yield* FiberRef.get(currentActor)
    }
  })

/**
 * An event of a change. `data` must hold no token, code, secret or e-mail address.
 * @since 0.0.0
 */
export const event = (s: Stamp, type: EventType, userId?: string | undefined, data: EventData = {}): NewEvent => ({
  type,
  tenantId: s.tenantId,
  occurredAt: s.occurredAt,
  userId,
  actor: s.actor,
  data
})

/**
 * Writes events that report an outcome with no change of its own (a code refused before anything
 * was counted).
 * @since 0.0.0
 */
export const append = (events: ReadonlyArray<NewEvent>) =>
  Effect.flatMap(Storage, (storage) => storage.appendEvents(events))

/** The pull API's parameters. @since 0.0.0 */
export interface ListOptions {
  /** The `next` of the previous page (from the start when undefined). */
  readonly after?: string | undefined
  /** Events per page, 1-1000. Default 100. */
  readonly limit?: number | undefined
  /** Only events of this type. */
  readonly type?: string | undefined
  /** Only events of these types (with `type`: of any of them). */
  readonly types?: ReadonlyArray<string> | undefined
}

const types = (options: ListOptions): ReadonlyArray<string> | undefined => {
  const all = [...(options.type === undefined ? [] : [options.type]), ...(options.types ?? [])]
  return all.length === 0 ? undefined : all
}

/**
 * A page of the tenant's events after `after`, in log order, and `next`, the cursor to read on
 * from: a reader that keeps `next` misses no event and sees none twice, also while several
 * replicas write events concurrently.
 * @since 0.0.0
 */
export const list = (tenantId: string, options: ListOptions = {}) =>
  Effect.gen(function* () {
    const after = options.after === undefined || options.after === "" ? undefined : decodeCursor(options.after)
    if (options.after !== undefined && options.after !== "" && after === undefined) {
      return yield* new InvalidPayload({ message: "after must be the next cursor of an earlier answer of GET /v1/events" })
    }
    const storage = yield* Storage
    const page = yield* storage.listEvents({
      tenantId,
      after,
      limit: options.limit ?? 100,
      types: types(options)
    })
    return { events: page.events.map((e: EventRecord) => eventJson(e)), next: encodeCursor(page.next) }
  }).pipe(operationSpan("Lagrello.Events.list", tenantId))

/**
 * How long events and webhook delivery logs are kept by default: 30 days.
 * @since 0.0.0
 */
export const defaultEventRetention = Duration.days(30)
