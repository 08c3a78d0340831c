/**
 * The worker loop as a layer: it polls on the TestClock, keeps going when the database fails,
 * and stops gracefully with its scope (the send in flight finishes, the rest is released).
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, Duration, Effect, Either, Exit, Fiber, Layer, Scope, TestClock } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Unavailable } from "../../src/domain/errors.js"
import { layerDevMailbox } from "../../src/mail/DevMailbox.js"
import { MailDeliveryError, MailTransport } from "../../src/mail/MailTransport.js"
import { backoffDelay, deliverDue, layerOutboxWorker } from "../../src/mail/OutboxWorker.js"
import { layerSmtp } from "../../src/mail/smtp/index.js"
import * as Events from "../../src/operations/Events.js"
import * as MagicLink from "../../src/operations/MagicLink.js"
import { layerMemory, makeMemoryStorage } from "../../src/storage/memory/index.js"
import { layerSqlite } from "../../src/storage/sqlite/index.js"
import { Storage } from "../../src/storage/Storage.js"
import { captureLogs, linkPattern, outboxRow, sendLink, services, setup } from "./fixtures.js"
import { decodedBody, smtpPeer } from "./smtpPeer.js"

const from = "login@acme.example"

/** Waits a little real time: for network completion, or to check that something did NOT happen. */
const realPause = (millis: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

/**
 * Lets the forked worker run until it waits on the TestClock for its next poll (500 ms, the
 * default, from now): its pass may be doing real I/O, so this yields and pauses in real time, for
 * at most 3 seconds. A pass sleeps too while it works (until its lease renewal, a third of the
 * lease later), and the TestClock keeps that wake-up after the pass ends: only the poll's counts.
 */
const untilWorkerSleeps = Effect.gen(function* () {
  for (let i = 0; i < 600; i++) {
    const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    if (Chunk.some(yield* TestClock.sleeps(), (at) => at === now + 500)) return
    yield* Effect.yieldNow()
    yield* realPause(5)
  }
  return yield* Effect.dieMessage("the worker did not go to sleep")
})

describe("outbox worker layer", () => {
  it.scoped("delivers a new message after the poll interval; closing its scope stops it", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com", "bob@example.com")
        const workerScope = yield* Scope.make()
        yield* Layer.buildWithScope(layerOutboxWorker({ pollInterval: "500 millis" }), workerScope)
        yield* untilWorkerSleeps // its first pass found nothing

        const alice = yield* sendLink(tenantId, "alice@example.com")
        yield* TestClock.adjust("499 millis")
        yield* realPause(50)
        expect(peer.received()).toHaveLength(0)
        yield* TestClock.adjust("1 millis")
        const received = yield* peer.waitFor(1)
        expect(decodedBody(received[0]!.raw)).toContain(alice.link)
        yield* untilWorkerSleeps
        expect(yield* outboxRow(alice.id)).toMatchObject({ status: "sent", attempts: 1 })

        yield* Scope.close(workerScope, Exit.void)
        const bob = yield* sendLink(tenantId, "bob@example.com")
        yield* TestClock.adjust("1 minute")
        yield* realPause(50)
        expect(peer.received()).toHaveLength(1)
        expect(yield* outboxRow(bob.id)).toMatchObject({ status: "pending", attempts: 0 })
      }).pipe(Effect.provide(Layer.merge(services(layerMemory), layerSmtp({ url: peer.url, from }))))
    }))

  it.scoped("a full batch is followed by another pass at once", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      yield* Effect.gen(function* () {
        const emails = ["a", "b", "c", "d", "e"].map((n) => `${n}@example.com`)
        const tenantId = yield* setup(...emails)
        for (const email of emails) yield* sendLink(tenantId, email)
        yield* Layer.launch(layerOutboxWorker({ batchSize: 2 })).pipe(Effect.forkScoped)
        // Passes of 2, 2 and 1 messages without the clock moving.
        yield* peer.waitFor(5)
        yield* untilWorkerSleeps
        expect(peer.received().map((m) => m.to[0]).sort()).toEqual(emails)
      }).pipe(Effect.provide(Layer.merge(services(layerMemory), layerSmtp({ url: peer.url, from }))))
    }))

  it.scoped("stopping waits for the send in flight and releases the messages not started", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer({ slowMillis: 400 })
      yield* peer.setMode("slow")
      const logs = captureLogs()
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com", "bob@example.com")
        const alice = yield* sendLink(tenantId, "alice@example.com")
        yield* TestClock.adjust("1 second")
        const bob = yield* sendLink(tenantId, "bob@example.com")

        const workerScope = yield* Scope.make()
        yield* Layer.buildWithScope(layerOutboxWorker({ concurrency: 1 }), workerScope)
        yield* peer.waitForData(1) // alice's message is being sent
        yield* Scope.close(workerScope, Exit.void)

        // The close returned only once the send had finished and been recorded.
        expect(peer.received()).toHaveLength(1)
        expect(peer.received()[0]!.to).toEqual(["alice@example.com"])
        expect(yield* outboxRow(alice.id)).toMatchObject({ status: "sent" })
        // Bob's was leased with alice's but never started: released, due at once for anyone.
        expect(yield* outboxRow(bob.id)).toMatchObject({ status: "pending", nextAttemptAt: 1_000 })
        yield* peer.setMode("accept")
        expect((yield* deliverDue()).sent).toBe(1)
        yield* peer.waitFor(2)
      }).pipe(Effect.provide(Layer.mergeAll(services(layerMemory), layerSmtp({ url: peer.url, from }), logs.layer)))
      expect(logs.lines.some((line) => line.includes("released 1 unsent message(s)"))).toBe(true)
    }))

  it.scoped("a pass that cannot reach the database is logged and the loop goes on", () =>
    Effect.gen(function* () {
      const logs = captureLogs()
      const memory = makeMemoryStorage()
      let down = true
      const flaky = Layer.succeed(Storage, {
        ...memory,
        claimOutbox: (now, lease, limit) =>
          down ? Effect.fail(new Unavailable({ message: "The database is unavailable" })) : memory.claimOutbox(now, lease, limit)
      })
      const sent: Array<string> = []
      const transport = Layer.succeed(MailTransport, { send: (m) => Effect.sync(() => void sent.push(m.to)) })
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com")
        yield* sendLink(tenantId, "alice@example.com")
        yield* Layer.launch(layerOutboxWorker()).pipe(Effect.forkScoped)
        yield* untilWorkerSleeps
        yield* TestClock.adjust("500 millis")
        yield* untilWorkerSleeps
        expect(sent).toEqual([])
        down = false
        yield* TestClock.adjust("500 millis")
        yield* untilWorkerSleeps
        expect(sent).toEqual(["alice@example.com"])
      }).pipe(Effect.provide(Layer.mergeAll(services(flaky), transport, logs.layer)))
      const failures = logs.lines.filter((line) => line.includes("a delivery pass failed"))
      expect(failures.length).toBe(2)
      expect(failures[0]).toContain("The database is unavailable")
    }))
})

describe("worker options", () => {
  it.effect("out of range is a defect when the layer is built", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Layer.build(layerOutboxWorker({ batchSize: 0, maxAttempts: 1.5 })).pipe(
          Effect.scoped,
          Effect.provide(Layer.merge(services(layerMemory), layerDevMailbox))
        )
      )
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(String(exit)).toContain("batchSize, maxAttempts must be a positive integer")
      const pass = yield* Effect.exit(
        deliverDue({ lease: "0 millis" }).pipe(Effect.provide(Layer.merge(services(layerMemory), layerDevMailbox)))
      )
      expect(String(pass)).toContain("the lease must be a positive, finite duration")
    }))
})

describe("back-off", () => {
  it("doubles from 1 second up to 5 minutes", () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((attempt) => backoffDelay(attempt))
    expect(waits.map((d) => d.toJSON())).toEqual(
      [1, 2, 4, 8, 16, 32, 64, 128, 256, 300].map((s) => ({ _id: "Duration", _tag: "Millis", millis: s * 1000 }))
    )
    expect(backoffDelay(3, { initial: "10 seconds", max: "30 seconds" }).toJSON()).toMatchObject({ millis: 30_000 })
  })

  it.effect("jitter keeps each wait between half and all of it", () =>
    Effect.gen(function* () {
      const memory = makeMemoryStorage()
      const transport = Layer.succeed(MailTransport, {
        send: () => Effect.fail(new MailDeliveryError({ message: "down", permanent: false }))
      })
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com")
        const { id } = yield* sendLink(tenantId, "alice@example.com")
        yield* TestClock.adjust("10 seconds")
        expect((yield* deliverDue({ backoff: { initial: "8 seconds", jitter: true } })).retried).toBe(1)
        const row = yield* outboxRow(id)
        expect(row.nextAttemptAt).toBeGreaterThanOrEqual(10_000 + 4_000)
        expect(row.nextAttemptAt).toBeLessThanOrEqual(10_000 + 8_000)
      }).pipe(Effect.provide(Layer.merge(services(Layer.succeed(Storage, memory)), transport)))
    }))
})

/** A fresh SQLite file, removed when the test's scope closes. */
const sqliteFile = Layer.unwrapScoped(
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "lagrello-worker-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    ),
    (dir) => layerSqlite({ filename: join(dir, "lagrello.db") })
  )
)

const tokenOf = (link: string) => linkPattern.exec(link)![1]!

/** Polls (yielding, and pausing in real time) until `done` holds, for at most 3 seconds. */
const until = (what: string, done: Effect.Effect<boolean, unknown, Storage>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 600; i++) {
      if (yield* Effect.orDie(done)) return
      yield* Effect.yieldNow()
      yield* realPause(5)
    }
    return yield* Effect.dieMessage(`not reached: ${what}`)
  })

for (const [name, storage] of [
  ["memory", layerMemory],
  ["SQLite", sqliteFile]
] as const) {
  describe(`one user's mail, in order, with the live link (${name})`, () => {
    it.scoped("a burst of sends to one user delivers only the newest link", () =>
      Effect.gen(function* () {
        const peer = yield* smtpPeer()
        yield* Effect.gen(function* () {
          const tenantId = yield* setup("alice@example.com")
          const links: Array<string> = []
          for (let i = 0; i < 12; i++) links.push((yield* sendLink(tenantId, "alice@example.com")).link)
          // Twenty at a time, as the worker sends: the older ones are never sent.
          expect(yield* deliverDue()).toMatchObject({ claimed: 1, sent: 1 })
          const [mail] = yield* peer.waitFor(1)
          expect(decodedBody(mail!.raw)).toContain(links[11]!)
          expect(yield* deliverDue()).toMatchObject({ claimed: 0 })
          yield* realPause(50)
          expect(peer.received()).toHaveLength(1)
          expect(Either.isRight(yield* Effect.either(MagicLink.verify(tenantId, tokenOf(links[11]!))))).toBe(true)
        }).pipe(Effect.provide(Layer.merge(services(storage, { sendLimit: 20 }), layerSmtp({ url: peer.url, from }))))
      }))

    it.scoped("sends written while an older one is on its way arrive after it, and the last mail holds the live link", () =>
      Effect.gen(function* () {
        const peer = yield* smtpPeer()
        yield* peer.setMode("hold")
        yield* Effect.gen(function* () {
          const tenantId = yield* setup("alice@example.com")
          const first = yield* sendLink(tenantId, "alice@example.com")
          const inFlight = yield* Effect.fork(deliverDue())
          yield* peer.waitForData(1)
          yield* TestClock.adjust("1 second")
          yield* sendLink(tenantId, "alice@example.com")
          yield* TestClock.adjust("1 second")
          const last = yield* sendLink(tenantId, "alice@example.com")
          // Another worker meanwhile: the last waits for the first, the middle one is superseded.
          expect(yield* deliverDue()).toMatchObject({ claimed: 0 })
          yield* peer.setMode("accept")
          yield* peer.releaseHeld
          expect(yield* Fiber.join(inFlight)).toMatchObject({ claimed: 1, sent: 1 })
          expect(yield* deliverDue()).toMatchObject({ claimed: 1, sent: 1 })
          const received = yield* peer.waitFor(2)
          expect(received.map((m) => decodedBody(m.raw).includes(first.link))).toEqual([true, false])
          expect(decodedBody(received[1]!.raw)).toContain(last.link)
          expect(Either.isRight(yield* Effect.either(MagicLink.verify(tenantId, tokenOf(last.link))))).toBe(true)
          expect(Either.isLeft(yield* Effect.either(MagicLink.verify(tenantId, tokenOf(first.link))))).toBe(true)
        }).pipe(Effect.provide(Layer.merge(services(storage, { sendLimit: 20 }), layerSmtp({ url: peer.url, from }))))
      }))
  })

  describe(`leases (${name})`, () => {
    it.scoped("a send that outlasts the lease keeps it renewed: no other worker takes the message, and it is recorded as sent", () =>
      Effect.gen(function* () {
        const peer = yield* smtpPeer()
        yield* peer.setMode("hold")
        const logs = captureLogs()
        yield* Effect.gen(function* () {
          const tenantId = yield* setup("alice@example.com")
          const alice = yield* sendLink(tenantId, "alice@example.com")
          const storage = yield* Storage
          const pass = yield* Effect.fork(deliverDue({ lease: "30 seconds" }))
          yield* peer.waitForData(1)
          expect((yield* outboxRow(alice.id)).leaseUntil).toBe(30_000)
          // Every 10 s, a full lease from then; another worker finds nothing to take past the first lease.
          for (const second of [10, 20, 30, 40]) {
            yield* TestClock.adjust("10 seconds")
            yield* until(`renewed at ${second} s`, Effect.map(outboxRow(alice.id), (row) => row.leaseUntil === second * 1000 + 30_000))
            expect(yield* storage.claimOutbox(second * 1000, 30_000, 10)).toHaveLength(0)
          }
          yield* peer.releaseHeld
          expect(yield* Fiber.join(pass)).toMatchObject({ claimed: 1, sent: 1 })
          expect(yield* outboxRow(alice.id)).toMatchObject({ status: "sent", attempts: 1 })
          yield* peer.setMode("accept")
          expect(yield* deliverDue()).toMatchObject({ claimed: 0 })
          expect(peer.received()).toHaveLength(1)
        }).pipe(Effect.provide(Layer.mergeAll(services(storage), layerSmtp({ url: peer.url, from }), logs.layer)))
        expect(logs.lines.some((line) => line.includes("lease lapsed"))).toBe(false)
      }))
  })
}

describe("outcomes the database could not take at first", () => {
  it.scoped("are tried again while the lease holds: the message is recorded as sent once, and the user's next one follows", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      const logs = captureLogs()
      const memory = makeMemoryStorage()
      let refusals = 2
      const flaky = Layer.succeed(Storage, {
        ...memory,
        markOutboxSent: (claimed) =>
          refusals-- > 0 ? Effect.fail(new Unavailable({ message: "The database is unavailable" })) : memory.markOutboxSent(claimed)
      })
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com")
        const first = yield* sendLink(tenantId, "alice@example.com")
        const pass = yield* Effect.fork(deliverDue())
        yield* peer.waitFor(1)
        // Written while the first one's outcome is unknown: it waits behind it.
        const second = yield* sendLink(tenantId, "alice@example.com")
        expect(yield* memory.claimOutbox(0, 30_000, 10)).toHaveLength(0)
        for (const waitMillis of [500, 1_000]) {
          const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
          yield* until(`the next try waits ${waitMillis} ms`, Effect.map(TestClock.sleeps(), Chunk.some((at) => at === now + waitMillis)))
          yield* TestClock.adjust(Duration.millis(waitMillis))
        }
        expect(yield* Fiber.join(pass)).toMatchObject({ claimed: 1, sent: 1 })
        expect(yield* outboxRow(first.id)).toMatchObject({ status: "sent", attempts: 1 })
        expect(yield* deliverDue()).toMatchObject({ claimed: 1, sent: 1 })
        const received = yield* peer.waitFor(2)
        expect(decodedBody(received[1]!.raw)).toContain(second.link)
      }).pipe(Effect.provide(Layer.mergeAll(services(flaky), layerSmtp({ url: peer.url, from }), logs.layer)))
      expect(logs.lines.filter((line) => line.includes("the outcome could not be recorded, trying again"))).toHaveLength(2)
    }))
})

describe("leases that could not be renewed", () => {
  it.scoped("a message whose lease lapsed while it waited is not started: another worker has it", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      yield* peer.setMode("hold")
      const logs = captureLogs()
      const memory = makeMemoryStorage()
      // The database refuses the renewals (it is unreachable for them).
      const noRenewals = Layer.succeed(Storage, {
        ...memory,
        renewOutboxLeases: () => Effect.fail(new Unavailable({ message: "The database is unavailable" }))
      })
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com", "bob@example.com")
        yield* sendLink(tenantId, "alice@example.com")
        const bob = yield* sendLink(tenantId, "bob@example.com")
        const pass = yield* Effect.fork(deliverDue({ lease: "30 seconds", concurrency: 1 }))
        yield* peer.waitForData(1)
        yield* TestClock.adjust("31 seconds")
        // Both leases lapsed: another worker takes both.
        expect(yield* memory.claimOutbox(31_000, 30_000, 10)).toHaveLength(2)
        yield* peer.releaseHeld
        expect(yield* Fiber.join(pass)).toMatchObject({ claimed: 2, sent: 1 })
        expect(peer.received()).toHaveLength(1)
        // The other worker's claim of bob's message is intact.
        expect(yield* outboxRow(bob.id)).toMatchObject({ status: "pending", attempts: 2, leaseUntil: 61_000 })
      }).pipe(Effect.provide(Layer.mergeAll(services(noRenewals), layerSmtp({ url: peer.url, from }), logs.layer)))
      expect(logs.lines.filter((line) => line.includes("leases could not be renewed")).length).toBeGreaterThan(0)
      expect(logs.lines.some((line) => line.includes("not started, its lease was lost"))).toBe(true)
      expect(logs.lines.some((line) => line.includes("sent after its lease lapsed"))).toBe(true)
    }))
})

describe("the outbox worker's events (SPEC 6.1)", () => {
  it.scoped("mail.delivered, mail.failed (refused) and mail.dropped (link expired), with no address or error text", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com", "bob@example.com", "carol@example.com")
        const alice = yield* sendLink(tenantId, "alice@example.com")
        expect((yield* deliverDue()).sent).toBe(1)
        yield* peer.setMode("reject")
        const bob = yield* sendLink(tenantId, "bob@example.com")
        expect((yield* deliverDue()).failed).toBe(1)
        yield* peer.setMode("accept")
        const carol = yield* sendLink(tenantId, "carol@example.com")
        yield* TestClock.adjust("11 minutes")
        expect((yield* deliverDue()).expired).toBe(1)
        const mail = (yield* Events.list(tenantId, {})).events.filter((e) => e.type.startsWith("mail."))
        expect(mail.map((e) => [e.type, e.userId, e.data.messageId])).toEqual([
          ["mail.delivered", "alice", alice.id],
          ["mail.failed", "bob", bob.id],
          ["mail.dropped", "carol", carol.id]
        ])
        expect(mail.every((e) => e.actor === undefined)).toBe(true)
        expect(JSON.stringify(mail)).not.toContain("@")
      }).pipe(Effect.provide(Layer.merge(services(layerMemory), layerSmtp({ url: peer.url, from }))))
    }))
})
