/**
 * The development mailbox: the outbox read back as a mailbox, and a transport that prints links.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { layerDevMailbox, readMailbox } from "../../src/mail/DevMailbox.js"
import { MailTransport } from "../../src/mail/MailTransport.js"
import { magicLinkMessage, messageLinks } from "../../src/mail/Message.js"
import { deliverDue } from "../../src/mail/OutboxWorker.js"
import { layerMemory } from "../../src/storage/memory/index.js"
import { Storage } from "../../src/storage/Storage.js"
import { captureLogs, linkPattern, outboxRow, sendLink, services, setup } from "./fixtures.js"

describe("development mailbox", () => {
  it.effect("readMailbox answers the messages newest first, with their links", () =>
    Effect.gen(function* () {
      const tenantId = yield* setup("alice@example.com", "bob@example.com")
      const alice = yield* sendLink(tenantId, "alice@example.com")
      yield* TestClock.adjust("1 second")
      const bob = yield* sendLink(tenantId, "bob@example.com")

      const mailbox = yield* readMailbox(10)
      expect(mailbox.map((m) => [m.id, m.createdAt, m.status, m.message.to])).toEqual([
        [bob.id, 1_000, "pending", "bob@example.com"],
        [alice.id, 0, "pending", "alice@example.com"]
      ])
      expect(mailbox.map((m) => messageLinks(m.message))).toEqual([[bob.link], [alice.link]])
      expect(mailbox[0]!.expiresAt).toBe(1_000 + 600_000)
      expect(mailbox[0]!.message.subject).toBe("Your sign-in link for Acme")
      expect(yield* readMailbox(1)).toHaveLength(1)

      yield* deliverDue().pipe(Effect.provide(layerDevMailbox))
      expect((yield* readMailbox(10)).map((m) => m.status)).toEqual(["sent", "sent"])
    }).pipe(Effect.provide(services(layerMemory))))

  it.effect("messages that do not open are skipped by the mailbox and failed by the worker", () =>
    Effect.gen(function* () {
      const tenantId = yield* setup("alice@example.com", "bob@example.com")
      const alice = yield* sendLink(tenantId, "alice@example.com")
      const storage = yield* Storage
      // A message sealed for another row (its sealed text copied): it must not open. For another
      // user: a newer message to alice would supersede hers.
      const original = yield* outboxRow(alice.id)
      yield* TestClock.adjust("1 second")
      yield* storage.issueMagicLink({
        tenantId,
        userId: "bob",
        email: "bob@example.com",
        tokenHash: "x".repeat(43),
        now: 1_000,
        expiresAt: 601_000,
        limit: 100,
        windowMillis: 1,
        message: { id: "copied", sealed: original.sealed }
      })
      expect((yield* readMailbox(10)).map((m) => m.id)).toEqual([alice.id])

      const logs = captureLogs()
      const report = yield* deliverDue().pipe(Effect.provide(Layer.merge(layerDevMailbox, logs.layer)))
      expect(report).toMatchObject({ claimed: 2, sent: 1, failed: 1 })
      expect(yield* outboxRow("copied")).toMatchObject({
        status: "failed",
        lastError: "The sealed message did not open (Tampered)"
      })
    }).pipe(Effect.provide(services(layerMemory))))

  it.effect("the dev transport logs the recipient and the link, and nothing else of the message", () =>
    Effect.gen(function* () {
      const logs = captureLogs()
      const message = magicLinkMessage({
        to: "alice@example.com",
        link: "https://app.example.com/login/" + "A".repeat(43),
        tenantName: "Acme",
        lifetimeMinutes: 10
      })
      yield* Effect.flatMap(MailTransport, (transport) => transport.send(message)).pipe(
        Effect.provide(Layer.merge(layerDevMailbox, logs.layer))
      )
      expect(logs.lines).toHaveLength(1)
      const [line] = logs.lines
      expect(line).toMatch(/^INFO Development mailbox: message to alice@example\.com: https:\/\/app\.example\.com\/login\/A{43} mailbox=development/)
      expect(line).not.toContain("Use this link")
      expect(line).not.toContain("Your sign-in link")
    }))

  it.effect("the worker with the dev transport prints each link once", () =>
    Effect.gen(function* () {
      const tenantId = yield* setup("alice@example.com")
      const { link } = yield* sendLink(tenantId, "alice@example.com")
      expect(link).toMatch(linkPattern)
      const logs = captureLogs()
      yield* deliverDue().pipe(Effect.provide(Layer.merge(layerDevMailbox, logs.layer)))
      yield* deliverDue().pipe(Effect.provide(Layer.merge(layerDevMailbox, logs.layer)))
      expect(logs.lines.filter((line) => line.includes(link))).toHaveLength(1)
      expect(logs.lines.filter((line) => line.includes(link))[0]).toContain("mailbox=development")
    }).pipe(Effect.provide(services(layerMemory))))
})
