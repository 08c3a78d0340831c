/**
 * The outbox delivered over real SMTP: a local `smtp-server` receives what the worker sends
 * through `layerSmtp`. Back-off and expiry run on the TestClock; the network is real, so waiting
 * for a message uses real time (bounded).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { deliverDue } from "../../src/mail/OutboxWorker.js"
import { layerSmtp } from "../../src/mail/smtp/index.js"
import { layerMemory } from "../../src/storage/memory/index.js"
import { layerSqlite } from "../../src/storage/sqlite/index.js"
import { Storage } from "../../src/storage/Storage.js"
import { captureLogs, linkPattern, outboxRow, sendLink, services, setup } from "./fixtures.js"
import { decodedBody, smtpPeer } from "./smtpPeer.js"

const from = "Acme <login@acme.example>"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "lagrello-mail-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** The services on fresh memory storage, mailing through the peer at `url`. */
const onMemory = (url: string) => Layer.merge(services(layerMemory), layerSmtp({ url, from }))

describe("outbox over SMTP", () => {
  it.scoped("delivers the link built from the callback URL (SQLite storage, SMTP login)", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer({ login: { user: "mailer@acme.example", pass: "p@ss:word/1" } })
      const dir = yield* tempDir
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com")
        const { id, link } = yield* sendLink(tenantId, "alice@example.com")
        expect(link).toMatch(linkPattern)

        const report = yield* deliverDue()
        expect(report).toEqual({ claimed: 1, sent: 1, retried: 0, expired: 0, failed: 0 })
        const [mail] = yield* peer.waitFor(1)
        expect(mail!.to).toEqual(["alice@example.com"])
        expect(mail!.from).toBe("login@acme.example")
        expect(mail!.user).toBe("mailer@acme.example")
        expect(mail!.raw).toContain("Subject: Your sign-in link for Acme")
        expect(decodedBody(mail!.raw)).toContain(link)

        const row = yield* outboxRow(id)
        expect(row).toMatchObject({ status: "sent", attempts: 1 })
        expect(row.lastError).toBeUndefined()
        // Nothing is left to deliver.
        expect((yield* deliverDue()).claimed).toBe(0)
      }).pipe(
        Effect.provide(
          Layer.merge(
            services(layerSqlite({ filename: join(dir, "mail.db") })),
            layerSmtp({ url: peer.url, from })
          )
        )
      )
    }))

  it.scoped("SMTP stopped: the message stays pending, then is delivered exactly once when it is back", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      yield* peer.stop
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com")
        const { id, link } = yield* sendLink(tenantId, "alice@example.com")

        expect(yield* deliverDue()).toEqual({ claimed: 1, sent: 0, retried: 1, expired: 0, failed: 0 })
        const pending = yield* outboxRow(id)
        expect(pending).toMatchObject({ status: "pending", attempts: 1, nextAttemptAt: 1_000 })
        expect(pending.lastError).toMatch(/^SMTP send failed \((ESOCKET|ECONNECTION)/)
        // Not due before its back-off ends.
        expect((yield* deliverDue()).claimed).toBe(0)

        yield* peer.start
        yield* TestClock.adjust("1 second")
        expect(yield* deliverDue()).toMatchObject({ claimed: 1, sent: 1 })
        const received = yield* peer.waitFor(1)
        expect(decodedBody(received[0]!.raw)).toContain(link)
        expect(yield* outboxRow(id)).toMatchObject({ status: "sent", attempts: 2 })

        yield* TestClock.adjust("10 minutes")
        expect((yield* deliverDue()).claimed).toBe(0)
        expect(peer.received()).toHaveLength(1)
      }).pipe(Effect.provide(onMemory(peer.url)))
    }))

  it.scoped("SMTP answering 421: retried with exponential back-off, then delivered", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      yield* peer.setMode("unavailable")
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com")
        const { id } = yield* sendLink(tenantId, "alice@example.com")

        // Attempts at 0 s, 1 s, 3 s, 7 s: waits of 1, 2 and 4 seconds.
        for (const [attempt, wait] of [
          [1, 1_000],
          [2, 2_000],
          [3, 4_000]
        ] as const) {
          expect((yield* deliverDue()).retried).toBe(1)
          const row = yield* outboxRow(id)
          const now = yield* TestClock.currentTimeMillis
          expect(row).toMatchObject({ status: "pending", attempts: attempt, nextAttemptAt: now + wait })
          expect(row.lastError).toContain("421")
          yield* TestClock.adjust(wait - 1)
          expect((yield* deliverDue()).claimed).toBe(0)
          yield* TestClock.adjust(1)
        }
        yield* peer.setMode("accept")
        expect((yield* deliverDue()).sent).toBe(1)
        yield* peer.waitFor(1)
        expect(yield* outboxRow(id)).toMatchObject({ status: "sent", attempts: 4 })
      }).pipe(Effect.provide(onMemory(peer.url)))
    }))

  it.scoped("a link that expires while SMTP is down is dropped, never sent", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      yield* peer.stop
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com")
        const { id } = yield* sendLink(tenantId, "alice@example.com")
        expect((yield* deliverDue()).retried).toBe(1)

        yield* TestClock.adjust("10 minutes")
        yield* peer.start
        expect(yield* deliverDue()).toEqual({ claimed: 1, sent: 0, retried: 0, expired: 1, failed: 0 })
        const row = yield* outboxRow(id)
        expect(row).toMatchObject({ status: "expired", lastError: "link expired before delivery" })
        expect((yield* deliverDue()).claimed).toBe(0)
        expect(peer.received()).toHaveLength(0)
        expect(peer.dataStarted()).toBe(0)
      }).pipe(Effect.provide(onMemory(peer.url)))
    }))

  it.scoped("a retry that would come after the link expires drops the message at once", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      yield* peer.stop
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com")
        const { id } = yield* sendLink(tenantId, "alice@example.com")
        const options = { backoff: { initial: "6 minutes", max: "1 hour" } } as const
        expect((yield* deliverDue(options)).retried).toBe(1)
        yield* TestClock.adjust("6 minutes")
        // The next wait (12 minutes) ends after the link (10 minutes): no point keeping it.
        expect((yield* deliverDue(options)).expired).toBe(1)
        expect(yield* outboxRow(id)).toMatchObject({ status: "expired", attempts: 2 })
        expect((yield* outboxRow(id)).lastError).toMatch(/^link expires before the next attempt; last error: SMTP/)
      }).pipe(Effect.provide(onMemory(peer.url)))
    }))

  it.scoped("a 5xx refusal fails the message at once; transient failures stop after maxAttempts", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      yield* peer.setMode("reject")
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com", "bob@example.com")
        const alice = yield* sendLink(tenantId, "alice@example.com")
        expect(yield* deliverDue()).toEqual({ claimed: 1, sent: 0, retried: 0, expired: 0, failed: 1 })
        const refused = yield* outboxRow(alice.id)
        expect(refused).toMatchObject({ status: "failed", attempts: 1 })
        expect(refused.lastError).toMatch(/EENVELOPE.*550 Mailbox unavailable/)

        yield* peer.setMode("unavailable")
        const bob = yield* sendLink(tenantId, "bob@example.com")
        expect((yield* deliverDue({ maxAttempts: 2 })).retried).toBe(1)
        yield* TestClock.adjust("1 second")
        expect((yield* deliverDue({ maxAttempts: 2 })).failed).toBe(1)
        expect(yield* outboxRow(bob.id)).toMatchObject({ status: "failed", attempts: 2 })
        yield* TestClock.adjust("1 minute")
        expect((yield* deliverDue({ maxAttempts: 2 })).claimed).toBe(0)
        expect(peer.received()).toHaveLength(0)
      }).pipe(Effect.provide(onMemory(peer.url)))
    }))

  it.scoped("without a pool, each message gets its own connection", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com", "bob@example.com")
        yield* sendLink(tenantId, "alice@example.com")
        yield* sendLink(tenantId, "bob@example.com")
        expect((yield* deliverDue()).sent).toBe(2)
        const received = yield* peer.waitFor(2)
        expect(received.map((m) => m.to[0]).sort()).toEqual(["alice@example.com", "bob@example.com"])
      }).pipe(Effect.provide(Layer.merge(services(layerMemory), layerSmtp({ url: peer.url, from, pool: false }))))
    }))

  it.scoped("a send that takes longer than sendTimeoutMillis is abandoned and retried", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer({ slowMillis: 2_000 })
      yield* peer.setMode("slow")
      yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com")
        const { id } = yield* sendLink(tenantId, "alice@example.com")
        expect((yield* deliverDue()).retried).toBe(1)
        expect(yield* outboxRow(id)).toMatchObject({
          status: "pending",
          attempts: 1,
          lastError: "SMTP send abandoned after 200ms (EABORT)"
        })
      }).pipe(
        Effect.provide(Layer.merge(services(layerMemory), layerSmtp({ url: peer.url, from, sendTimeoutMillis: 200 })))
      )
    }))

  it.scoped("workers on two connections to one SQLite file send each message once", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      const dir = yield* tempDir
      const filename = join(dir, "shared.db")
      const emails = ["a", "b", "c", "d", "e", "f", "g"].map((n) => `${n}@example.com`)
      yield* Effect.gen(function* () {
        const tenantId = yield* setup(...emails)
        for (const email of emails) yield* sendLink(tenantId, email)
      }).pipe(Effect.provide(services(layerSqlite({ filename }))))

      // Two "replicas": each its own database connection and its own SMTP pool.
      const replica = Layer.merge(services(layerSqlite({ filename })), layerSmtp({ url: peer.url, from }))
      const pass = deliverDue({ batchSize: 2, concurrency: 2 })
      const drain = Effect.gen(function* () {
        let sent = 0
        while (true) {
          const report = yield* pass
          if (report.claimed === 0) return sent
          sent += report.sent
        }
      })
      const [one, two] = yield* Effect.all([Effect.provide(drain, replica), Effect.provide(drain, replica)], {
        concurrency: 2
      })
      expect(one + two).toBe(emails.length)
      const received = yield* peer.waitFor(emails.length)
      expect(received.map((m) => m.to[0]).sort()).toEqual(emails)
      yield* Effect.gen(function* () {
        const storage = yield* Storage
        const rows = yield* storage.listOutbox(100)
        expect(rows.map((r) => [r.status, r.attempts])).toEqual(emails.map(() => ["sent", 1]))
      }).pipe(Effect.provide(services(layerSqlite({ filename }))))
    }))

  it.scoped("nothing on the SMTP path logs the token, the link or the body", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      const logs = captureLogs()
      yield* peer.stop
      const { id, link } = yield* Effect.gen(function* () {
        const tenantId = yield* setup("alice@example.com")
        const sent = yield* sendLink(tenantId, "alice@example.com")
        expect((yield* deliverDue()).retried).toBe(1)
        yield* peer.start
        yield* peer.setMode("reject")
        yield* TestClock.adjust("1 second")
        expect((yield* deliverDue()).failed).toBe(1)
        const stored = yield* outboxRow(sent.id)
        expect(stored.lastError).not.toContain(linkPattern.exec(sent.link)![1])
        return sent
      }).pipe(Effect.provide(Layer.merge(onMemory(peer.url), logs.layer)))

      const token = linkPattern.exec(link)![1]!
      expect(logs.lines.length).toBeGreaterThanOrEqual(2)
      expect(logs.lines.join("\n")).toContain(id)
      for (const line of logs.lines) {
        expect(line).not.toContain(token)
        expect(line).not.toContain("app.example.com")
        expect(line).not.toContain("Use this link")
        expect(line).not.toContain("alice@example.com")
      }
    }))
})
