/**
 * The pull API on PostgreSQL (SPEC 6.2): ids are handed out before commit, so transactions commit
 * them out of id order; a reader following `next` must still read every event exactly once. A
 * slow transaction opened first and committed last, fast ones committing meanwhile.
 */
import { expect, it } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import type * as Pg from "pg"
import type { EventCursor, EventRecord, NewEvent } from "../../src/storage/events.js"
import { newEventId } from "../../src/storage/events.js"
import { makePgStorage } from "../../src/storage/pg/index.js"
import type { StorageService } from "../../src/storage/Storage.js"
import { describePostgres } from "../support/postgres.js"

const tenantId = "tenant-events"

const event = (userId: string): NewEvent => ({ type: "user.created", tenantId, occurredAt: Date.now(), userId, data: {} })

/** An event written by a transaction of a raw client (so that a test holds it open). */
const insertRaw = (client: Pg.Client, userId: string) => {
  const id = newEventId(Date.now())
  return client
    .query("INSERT INTO events (id, tenant_id, type, occurred_at, user_id, data) VALUES ($1, $2, 'user.created', $3, $4, '{}')", [
      id,
      tenantId,
      Date.now(),
      userId
    ])
    .then(() => id)
}

/** Follows `next` from `after`; answers what it read and where it stopped. */
const readOn = (storage: StorageService, after: EventCursor | undefined) =>
  Effect.gen(function* () {
    const read: Array<EventRecord> = []
    let cursor = after
    for (;;) {
      const page = yield* storage.listEvents({ tenantId, after: cursor, limit: 3 })
      read.push(...page.events)
      cursor = page.next
      if (page.events.length === 0) return { read, cursor }
    }
  })

/** Reads on until `count` events were read in all (other tests' transactions on the server may hold the horizon back a moment). */
const readUntil = (storage: StorageService, after: EventCursor | undefined, count: number, already: number) =>
  Effect.gen(function* () {
    const read: Array<EventRecord> = []
    let cursor = after
    const deadline = Date.now() + 15_000
    while (already + read.length < count && Date.now() < deadline) {
      const page = yield* readOn(storage, cursor)
      read.push(...page.read)
      cursor = page.cursor
      if (already + read.length < count) yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
    }
    return { read, cursor }
  })

describePostgres("the event log on PostgreSQL", (db) => {
  const withStorage = <A, E>(body: (storage: StorageService) => Effect.Effect<A, E, Scope.Scope>) =>
    Effect.scoped(
      Effect.gen(function* () {
        const storage = yield* makePgStorage({ url: db.url })
        yield* Effect.promise(() => db.truncate())
        return yield* body(storage)
      })
    )

  it.live("a slow transaction's earlier id is read after the fast ones that committed before it, and nothing twice", () =>
    withStorage((storage) =>
      Effect.gen(function* () {
        // The reader has read everything so far.
        yield* storage.appendEvents([event("before")])
        const before = yield* readUntil(storage, undefined, 1, 0)
        expect(before.read.map((e) => e.userId)).toEqual(["before"])
        const slow = yield* Effect.promise(() => db.connect())
        yield* Effect.addFinalizer(() => Effect.promise(() => slow.end()))
        yield* Effect.promise(() => slow.query("BEGIN"))
        const first = yield* Effect.promise(() => insertRaw(slow, "slow-1"))
        yield* storage.appendEvents([event("fast-1")])
        yield* storage.appendEvents([event("fast-2"), event("fast-3")])
        // The fast ones committed, with larger ids than slow-1's; a reader that took them now
        // would pass slow-1's id before it commits. It reads nothing until the slow one is done.
        const early = yield* readOn(storage, before.cursor)
        expect(early.read).toEqual([])
        const late = yield* Effect.promise(() => insertRaw(slow, "slow-2"))
        expect(first < late).toBe(true)
        yield* Effect.promise(() => slow.query("COMMIT"))
        const rest = yield* readUntil(storage, early.cursor, 6, 1)
        const all = [...before.read, ...rest.read]
        // In commit-safe order: the slow transaction's events (its id is older) before the fast ones.
        expect(all.map((e) => e.userId)).toEqual(["before", "slow-1", "slow-2", "fast-1", "fast-2", "fast-3"])
        expect(new Set(all.map((e) => e.id)).size).toBe(6)
        // By id alone, slow-1 sorts before fast-1 although it committed after it.
        expect(all.find((e) => e.userId === "slow-1")!.id < all.find((e) => e.userId === "fast-1")!.id).toBe(true)
        // Nothing more, and the cursor stays put.
        expect((yield* readOn(storage, rest.cursor)).read).toEqual([])
      })
    ), 30_000)

  it.live("writers committing concurrently, some slowly, and a reader following next: every event exactly once", () =>
    withStorage((storage) =>
      Effect.gen(function* () {
        const written: Array<string> = []
        const read: Array<EventRecord> = []
        let cursor: EventCursor | undefined
        let writing = true
        const reader = Effect.gen(function* () {
          while (writing) {
            const page = yield* readOn(storage, cursor)
            read.push(...page.read)
            cursor = page.cursor
            yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
          }
        })
        const slowWriter = (n: number) =>
          Effect.acquireUseRelease(
            Effect.promise(() => db.connect()),
            (client) =>
              Effect.promise(async () => {
                await client.query("BEGIN")
                written.push(`slow-${n}`)
                await insertRaw(client, `slow-${n}`)
                await client.query("SELECT pg_sleep(0.05)")
                await client.query("COMMIT")
              }),
            (client) => Effect.promise(() => client.end())
          )
        const fastWriter = (n: number) =>
          Effect.suspend(() => {
            written.push(`fast-${n}`)
            return storage.appendEvents([event(`fast-${n}`)])
          })
        const readerFiber = yield* Effect.fork(reader)
        yield* Effect.forEach(
          Array.from({ length: 120 }, (_, i) => i),
          (i) => (i % 10 === 0 ? slowWriter(i) : fastWriter(i)),
          { concurrency: 12, discard: true }
        )
        writing = false
        yield* readerFiber.await
        const rest = yield* readUntil(storage, cursor, written.length, read.length)
        const all = [...read, ...rest.read].map((e) => e.userId!)
        expect(all.length).toBe(written.length)
        expect(new Set(all).size).toBe(written.length)
        expect([...all].sort()).toEqual([...written].sort())
      })
    ), 60_000)
})
