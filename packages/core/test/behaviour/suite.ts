/**
 * The behavioural suite of the core, written once and run against every storage layer
 * (memory.test.ts, sqlite.test.ts, and PostgreSQL when it joins). It drives the operations, as
 * the HTTP layer does, on Effect's TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, type Layer, Option, TestClock } from "effect"
import type { PolicySettings } from "../../src/domain/policies.js"
import { base32Decode, totpAt } from "../../src/crypto/otp.js"
import { type Keyring, makeSealer, Sealer } from "../../src/crypto/Sealer.js"
import { readMailbox } from "../../src/mail/DevMailbox.js"
import * as Access from "../../src/operations/Access.js"
import * as Keys from "../../src/operations/Keys.js"
import * as MagicLink from "../../src/operations/MagicLink.js"
import { purgeExpired } from "../../src/operations/Purge.js"
import * as Tenants from "../../src/operations/Tenants.js"
import * as Tokens from "../../src/operations/Tokens.js"
import * as Totp from "../../src/operations/Totp.js"
import * as Users from "../../src/operations/Users.js"
import { Storage } from "../../src/storage/Storage.js"
import {
  adminToken,
  callbackUrl,
  lastToken,
  services,
  setupTenant,
  type StorageLayer,
  testKeyring,
  totpState
} from "./harness.js"

// 2026-01-01T00:00:00Z: a realistic epoch so that steps T-1 and T-2 exist.
const start = Date.UTC(2026, 0, 1)
const step = 30_000

type Provided = Layer.Layer.Success<ReturnType<typeof services>>

const tagOf = <A, E extends { readonly _tag: string }>(e: Either.Either<A, E>) =>
  Either.isRight(e) ? "ok" : e.left._tag

export const behaviourSuite = (name: string, makeStorage: () => StorageLayer) =>
  describe(`core behaviour on ${name}`, () => {
    const test = <A, E>(
      title: string,
      body: () => Effect.Effect<A, E, Provided>,
      policies: Partial<PolicySettings> = {}
    ) =>
      it.effect(title, () =>
        Effect.gen(function* () {
          yield* TestClock.setTime(start)
          return yield* body()
        }).pipe(Effect.provide(services(makeStorage(), policies)))
      )

    // `null`: a user without an e-mail address.
    const withUser = (userId = "alice", email: string | null = "alice@example.com") =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, email === null ? { userId } : { userId, email })
        return tenantId
      })

    describe("magic links", () => {
      test("a sent link signs the user in once", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const token = yield* lastToken("alice@example.com")
          expect(token).toHaveLength(43)
          expect(yield* MagicLink.verify(tenantId, token)).toEqual({ userId: "alice", email: "alice@example.com" })
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, token)))).toBe("Unauthorized")
        }))

      test("a link is valid until its lifetime ends, not at the boundary", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const first = yield* lastToken("alice@example.com")
          yield* TestClock.adjust(Duration.millis(10 * 60_000 - 1))
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, first)))).toBe("ok")

          yield* MagicLink.send(tenantId, "alice")
          const second = yield* lastToken("alice@example.com")
          yield* TestClock.adjust(Duration.minutes(10))
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, second)))).toBe("Unauthorized")
        }))

      test("the link lifetime is configurable", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const token = yield* lastToken("alice@example.com")
          yield* TestClock.adjust(Duration.minutes(2))
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, token)))).toBe("Unauthorized")
        }), { magicLinkLifetime: Duration.minutes(2) })

      test("a new link revokes the older unused one", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const older = yield* lastToken("alice@example.com")
          yield* TestClock.adjust(Duration.seconds(1))
          yield* MagicLink.send(tenantId, "alice")
          const newer = yield* lastToken("alice@example.com")
          expect(newer).not.toBe(older)
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, older)))).toBe("Unauthorized")
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, newer)))).toBe("ok")
        }))

      test("50 concurrent exchanges of one link give exactly one success", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const token = yield* lastToken("alice@example.com")
          const results = yield* Effect.all(
            Array.from({ length: 50 }, () => Effect.either(MagicLink.verify(tenantId, token))),
            { concurrency: "unbounded" }
          )
          expect(results.map(tagOf).filter((t) => t === "ok")).toHaveLength(1)
          expect(results.map(tagOf).filter((t) => t === "Unauthorized")).toHaveLength(49)
        }))

      test("the send throttle answers TooManyRequests and keeps the last link valid", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          for (let i = 0; i < 5; i++) {
            yield* MagicLink.send(tenantId, "alice")
            yield* TestClock.adjust(Duration.seconds(10))
          }
          const last = yield* lastToken("alice@example.com")
          const refused = yield* Effect.flip(MagicLink.send(tenantId, "alice"))
          expect(refused._tag).toBe("TooManyRequests")
          // The first send was 50 s ago: the window of 10 minutes frees a slot in 550 s.
          expect(refused._tag === "TooManyRequests" && refused.retryAfterSeconds).toBe(550)
          expect(yield* lastToken("alice@example.com")).toBe(last)
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, last)))).toBe("ok")
          yield* TestClock.adjust(Duration.seconds(550))
          expect(tagOf(yield* Effect.either(MagicLink.send(tenantId, "alice")))).toBe("ok")
        }))

      test("send refuses a user without e-mail (400), an unknown user (404), a tenant without callback (400)", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser("bob", null)
          expect(tagOf(yield* Effect.either(MagicLink.send(tenantId, "bob")))).toBe("InvalidPayload")
          expect(tagOf(yield* Effect.either(MagicLink.send(tenantId, "nobody")))).toBe("NotFound")
          const bare = yield* Tenants.ensure({ name: "Bare", accessToken: `${adminToken}-bare` })
          yield* Users.create(bare.tenantId, { userId: "carol", email: "carol@example.com" })
          const error = yield* Effect.flip(MagicLink.send(bare.tenantId, "carol"))
          expect(error._tag).toBe("InvalidPayload")
          expect(error.message).toContain("callback URL")
        }))

      test("a link of a deleted user answers NotFound, and does not sign in a new user of that id", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const token = yield* lastToken("alice@example.com")
          yield* Users.remove(tenantId, "alice")
          yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, token)))).toBe("NotFound")
        }))

      test("a link works only in its own tenant", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const other = yield* setupTenant("Other")
          yield* MagicLink.send(tenantId, "alice")
          const token = yield* lastToken("alice@example.com")
          expect(tagOf(yield* Effect.either(MagicLink.verify(other, token)))).toBe("Unauthorized")
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, token)))).toBe("ok")
        }))

      test("malformed tokens are refused", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          for (const bad of ["", "x", "a".repeat(44), "!".repeat(43), "a".repeat(10_000)]) {
            expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, bad)))).toBe("Unauthorized")
          }
        }))

      test("a link is written only if the user still has the address it goes to", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const storage = yield* Storage
          const issue = (email: string) =>
            storage.issueMagicLink({
              tenantId,
              userId: "alice",
              email,
              tokenHash: "h".repeat(43),
              now: start,
              expiresAt: start + 600_000,
              limit: 5,
              windowMillis: 600_000,
              message: { id: "m1", sealed: "sealed" }
            })
          yield* Users.update(tenantId, "alice", { email: "alice@new.example.com" })
          expect((yield* issue("alice@example.com"))._tag).toBe("UserChanged")
          yield* Users.remove(tenantId, "alice")
          expect((yield* issue("alice@new.example.com"))._tag).toBe("UserChanged")
          expect(yield* storage.listOutbox(10)).toHaveLength(0)
        }))

      test("deleting a user deletes its links and queued messages with it; its live links answer NotFound until purged", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* Users.create(tenantId, { userId: "bob", email: "bob@example.com" })
          const storage = yield* Storage
          yield* MagicLink.send(tenantId, "alice")
          yield* MagicLink.send(tenantId, "bob")
          const token = yield* lastToken("alice@example.com")
          yield* Users.remove(tenantId, "alice")
          expect((yield* storage.listOutbox(10)).map((m) => m.userId)).toEqual(["bob"])
          yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, token)))).toBe("NotFound")
          // The re-created user's own sends are not throttled by the deleted one's.
          for (let i = 0; i < 5; i++) yield* MagicLink.send(tenantId, "alice")
          // Once expired and past the throttle's window, the kept hash goes with the purge.
          yield* TestClock.adjust(Duration.minutes(21))
          expect(yield* purgeExpired).toBeGreaterThanOrEqual(1)
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, token)))).toBe("Unauthorized")
        }))

      test("changing the e-mail address revokes links sent to the old one", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const token = yield* lastToken("alice@example.com")
          yield* Users.update(tenantId, "alice", { email: "alice@new.example.com" })
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, token)))).toBe("Unauthorized")
        }))
    })

    describe("outbox", () => {
      test("a claim whose lease lapsed cannot record an outcome over the worker that took over", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const storage = yield* Storage
          const [first] = yield* storage.claimOutbox(start, 60_000, 10)
          expect(first).toBeDefined()
          expect(yield* storage.claimOutbox(start + 1_000, 60_000, 10)).toHaveLength(0)
          const [second] = yield* storage.claimOutbox(start + 61_000, 60_000, 10)
          expect(second?.id).toBe(first!.id)
          expect(yield* storage.markOutboxSent(first!)).toBe(false)
          expect(yield* storage.retryOutbox(first!, start, "late")).toBe(false)
          expect((yield* storage.listOutbox(1))[0]?.status).toBe("pending")
          expect(yield* storage.releaseOutbox(second!)).toBe(true)
          const [third] = yield* storage.claimOutbox(start + 61_000, 60_000, 10)
          // The released claim's attempt is not counted.
          expect(third?.attempts).toBe(2)
          expect(yield* storage.markOutboxSent(third!)).toBe(true)
          expect((yield* storage.listOutbox(1))[0]?.status).toBe("sent")
        }))

      test("a burst of sends to one user leaves one message to deliver, with the live link; the older are superseded", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const storage = yield* Storage
          const tokens: Array<string> = []
          for (let i = 0; i < 8; i++) {
            yield* MagicLink.send(tenantId, "alice")
            tokens.push(yield* lastToken("alice@example.com"))
            // Half of them in the same millisecond as the one before.
            if (i % 2 === 1) yield* TestClock.adjust(Duration.seconds(1))
          }
          const mailbox = yield* readMailbox(100)
          expect(mailbox.map((m) => m.status)).toEqual(["pending", ...Array.from({ length: 7 }, () => "superseded")])
          expect(mailbox[0]!.message.text).toContain(tokens[7]!)
          const claimed = yield* storage.claimOutbox(start + 10_000, 30_000, 100)
          expect(claimed.map((m) => m.id)).toEqual([mailbox[0]!.id])
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, tokens[6]!)))).toBe("Unauthorized")
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, tokens[7]!)))).toBe("ok")
        }), { sendLimit: 20 })

      test("a user's messages are handed out one at a time in the order written, without holding back other users'", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* Users.create(tenantId, { userId: "bob", email: "bob@example.com" })
          const storage = yield* Storage
          yield* MagicLink.send(tenantId, "alice")
          const [first] = yield* storage.claimOutbox(start, 30_000, 10)
          expect(first).toBeDefined()
          // Written while the first is being delivered: that one is not superseded (it may be on
          // its way), and the new one waits for it, even past the lease of the first.
          yield* TestClock.adjust(Duration.seconds(1))
          yield* MagicLink.send(tenantId, "alice")
          yield* MagicLink.send(tenantId, "bob")
          const statuses = (yield* storage.listOutbox(10)).map((m) => m.status)
          expect(statuses).toEqual(["pending", "pending", "pending"])
          const [bobs, ...rest] = yield* storage.claimOutbox(start + 1_000, 30_000, 10)
          expect(bobs?.userId).toBe("bob")
          expect(rest).toHaveLength(0)
          expect(yield* storage.markOutboxSent(first!)).toBe(true)
          const [second] = yield* storage.claimOutbox(start + 2_000, 30_000, 10)
          expect(second?.userId).toBe("alice")
          expect(second?.id).not.toBe(first!.id)
          expect(second?.createdAt).toBe(start + 1_000)
        }))

      test("an attempt that fails or is given back after a newer message was written is superseded, not tried again", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const storage = yield* Storage
          const status = (id: string) => Effect.map(storage.listOutbox(10), (all) => all.find((m) => m.id === id)?.status)
          yield* MagicLink.send(tenantId, "alice")
          const [first] = yield* storage.claimOutbox(start, 30_000, 10)
          yield* MagicLink.send(tenantId, "alice")
          expect(yield* storage.retryOutbox(first!, start + 1_000, "421 try again later")).toBe(true)
          expect(yield* status(first!.id)).toBe("superseded")
          const [second] = yield* storage.claimOutbox(start + 5_000, 30_000, 10)
          expect(second).toBeDefined()
          yield* MagicLink.send(tenantId, "alice")
          expect(yield* storage.releaseOutbox(second!)).toBe(true)
          expect(yield* status(second!.id)).toBe("superseded")
          const [third, ...none] = yield* storage.claimOutbox(start + 5_000, 30_000, 10)
          expect(none).toHaveLength(0)
          // The newest, alone: a retry leaves it pending.
          expect(yield* storage.retryOutbox(third!, start + 6_000, "421 try again later")).toBe(true)
          expect(yield* status(third!.id)).toBe("pending")
        }), { sendLimit: 20 })

      test("a renewed lease keeps the claim, and only the renewed value records an outcome", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const storage = yield* Storage
          yield* MagicLink.send(tenantId, "alice")
          const [claimed] = yield* storage.claimOutbox(start, 30_000, 10)
          expect(yield* storage.renewOutboxLeases([claimed!], start + 40_000)).toEqual([claimed!.id])
          // Past the first lease, the renewed one holds.
          expect(yield* storage.claimOutbox(start + 31_000, 30_000, 10)).toHaveLength(0)
          expect(yield* storage.markOutboxSent(claimed!)).toBe(false)
          expect(yield* storage.renewOutboxLeases([claimed!], start + 50_000)).toEqual([])
          const current = { ...claimed!, leaseUntil: start + 40_000 }
          expect(yield* storage.markOutboxSent(current)).toBe(true)
          // A finished message is not renewed.
          expect(yield* storage.renewOutboxLeases([current], start + 60_000)).toEqual([])
          expect((yield* storage.listOutbox(1))[0]).toMatchObject({ status: "sent", leaseUntil: start + 40_000 })
        }))
    })

    describe("outbox stats", () => {
      test("count the pending messages and date the oldest", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* Users.create(tenantId, { userId: "bob", email: "bob@example.com" })
          const storage = yield* Storage
          expect(yield* storage.outboxStats).toEqual({ pending: 0, oldestCreatedAt: undefined })
          yield* MagicLink.send(tenantId, "alice")
          yield* TestClock.adjust(Duration.seconds(2))
          yield* MagicLink.send(tenantId, "bob")
          expect(yield* storage.outboxStats).toEqual({ pending: 2, oldestCreatedAt: start })
          const [claimed, ...others] = yield* storage.claimOutbox(start + 2_000, 30_000, 1)
          expect(others).toHaveLength(0)
          expect(claimed?.userId).toBe("alice")
          // Leased is still pending; sent is not.
          expect((yield* storage.outboxStats).pending).toBe(2)
          expect(yield* storage.markOutboxSent(claimed!)).toBe(true)
          expect(yield* storage.outboxStats).toEqual({ pending: 1, oldestCreatedAt: start + 2_000 })
          // A superseded message is not pending.
          yield* MagicLink.send(tenantId, "bob")
          expect((yield* storage.outboxStats).pending).toBe(1)
        }))
    })

    describe("purge", () => {
      test("deletes expired links and finished messages once the throttle's window is past them, nothing sooner", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const storage = yield* Storage
          yield* MagicLink.send(tenantId, "alice")
          const token = yield* lastToken("alice@example.com")
          const [claimed] = yield* storage.claimOutbox(start, 60_000, 10)
          expect(yield* storage.markOutboxSent(claimed!)).toBe(true)
          // Valid, then expired but inside the send window: kept.
          yield* TestClock.adjust(Duration.minutes(5))
          expect(yield* purgeExpired).toBe(0)
          yield* TestClock.adjust(Duration.minutes(10))
          expect(yield* purgeExpired).toBe(0)
          // Past both: the link and its sent message go; a link sent now stays.
          yield* TestClock.adjust(Duration.minutes(6))
          yield* MagicLink.send(tenantId, "alice")
          const fresh = yield* lastToken("alice@example.com")
          expect(yield* purgeExpired).toBe(2)
          expect(yield* storage.listOutbox(10)).toHaveLength(1)
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, token)))).toBe("Unauthorized")
          expect(yield* MagicLink.verify(tenantId, fresh)).toEqual({ userId: "alice", email: "alice@example.com" })
        }))

      test("keeps the links the send throttle counts when its window outlasts their lifetime", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          for (let i = 0; i < 2; i++) yield* MagicLink.send(tenantId, "alice")
          yield* TestClock.adjust(Duration.minutes(30))
          expect(yield* purgeExpired).toBe(0)
          expect(tagOf(yield* Effect.either(MagicLink.send(tenantId, "alice")))).toBe("TooManyRequests")
        }),
        { sendLimit: 2, sendWindow: Duration.hours(1), magicLinkLifetime: Duration.minutes(10) })
    })

    describe("TOTP", () => {
      test("is enabled once a code confirmed the enrolment, and not after it is turned off", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          expect(yield* Totp.isEnabled(tenantId, "alice")).toBe(false)
          const { secretKey } = yield* Totp.enable(tenantId, "alice")
          expect(yield* Totp.isEnabled(tenantId, "alice")).toBe(false)
          yield* Totp.verify(tenantId, "alice", totpAt(base32Decode(secretKey)!, start))
          expect(yield* Totp.isEnabled(tenantId, "alice")).toBe(true)
          yield* Totp.disable(tenantId, "alice")
          expect(yield* Totp.isEnabled(tenantId, "alice")).toBe(false)
          expect(tagOf(yield* Effect.either(Totp.isEnabled(tenantId, "nobody")))).toBe("NotFound")
        }))

      const enrol = (tenantId: string, userId = "alice") =>
        Effect.gen(function* () {
          const { qrImage, secretKey } = yield* Totp.enable(tenantId, userId)
          expect(qrImage.startsWith("data:image/png;base64,")).toBe(true)
          const secret = base32Decode(secretKey)!
          expect(secret).toHaveLength(20)
          return secret
        })
      /** Enrolled, confirmed by the code of this step, and one step later (so a code is free again). */
      const enrolConfirmed = (tenantId: string, userId = "alice") =>
        Effect.gen(function* () {
          const secret = yield* enrol(tenantId, userId)
          yield* Totp.verify(tenantId, userId, yield* codeAt(secret))
          yield* TestClock.adjust(Duration.millis(step))
          return secret
        })
      const codeAt = (secret: Uint8Array, offsetSteps = 0) =>
        Effect.map(TestClockTime, (now) => totpAt(secret, now + offsetSteps * step))
      const TestClockTime = Effect.clockWith((c) => c.currentTimeMillis)
      const verify = (tenantId: string, code: string, userId = "alice") =>
        Effect.map(Effect.either(Totp.verify(tenantId, userId, code)), tagOf)

      test("a right code is accepted once; a replay is refused", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const secret = yield* enrol(tenantId)
          const code = yield* codeAt(secret)
          expect(yield* Totp.verify(tenantId, "alice", code)).toEqual({ userId: "alice", email: "alice@example.com" })
          expect(yield* verify(tenantId, code)).toBe("Unauthorized")
          // Still refused in the next step (it would be the T-1 code then).
          yield* TestClock.adjust(Duration.millis(step))
          expect(yield* verify(tenantId, code)).toBe("Unauthorized")
          expect(yield* verify(tenantId, yield* codeAt(secret))).toBe("ok")
        }))

      test("one step of drift either way is accepted, two are refused", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const secret = yield* enrol(tenantId)
          expect(yield* verify(tenantId, yield* codeAt(secret, -2))).toBe("Unauthorized")
          expect(yield* verify(tenantId, yield* codeAt(secret, 2))).toBe("Unauthorized")
          expect(yield* verify(tenantId, yield* codeAt(secret, -1))).toBe("ok")
          yield* TestClock.adjust(Duration.millis(step * 5))
          expect(yield* verify(tenantId, yield* codeAt(secret, 1))).toBe("ok")
          // T+1 was used: the code of T (an earlier step) is now refused too.
          expect(yield* verify(tenantId, yield* codeAt(secret))).toBe("Unauthorized")
        }))

      test("malformed codes are refused without error", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* enrol(tenantId)
          for (const bad of ["", "12345", "1234567", "abcdef", "１２３４５６", "12 456", "x".repeat(5000)]) {
            expect(yield* verify(tenantId, bad)).toBe("Unauthorized")
          }
        }), { totpFailureLimit: 100 })

      test("after the failure limit even a right code is refused until the back-off ends", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          // Confirmed: a pending enrolment would lapse during the back-off.
          const secret = yield* enrolConfirmed(tenantId)
          const right = yield* codeAt(secret)
          const wrong = right === "000000" ? "111111" : "000000"
          for (let i = 0; i < 10; i++) expect(yield* verify(tenantId, wrong)).toBe("Unauthorized")
          const locked = yield* Effect.flip(Totp.verify(tenantId, "alice", right))
          expect(locked._tag).toBe("TooManyRequests")
          expect(locked._tag === "TooManyRequests" && locked.retryAfterSeconds).toBe(15 * 60)
          yield* TestClock.adjust(Duration.minutes(14))
          expect(yield* verify(tenantId, yield* codeAt(secret))).toBe("TooManyRequests")
          yield* TestClock.adjust(Duration.minutes(1))
          expect(yield* verify(tenantId, yield* codeAt(secret))).toBe("ok")
          expect((yield* totpState(tenantId, "alice"))?.failures).toBe(0)
        }))

      test("a right code resets the failure count", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const secret = yield* enrol(tenantId)
          const wrong = (yield* codeAt(secret)) === "000000" ? "111111" : "000000"
          for (let i = 0; i < 9; i++) expect(yield* verify(tenantId, wrong)).toBe("Unauthorized")
          expect(yield* verify(tenantId, yield* codeAt(secret))).toBe("ok")
          for (let i = 0; i < 9; i++) expect(yield* verify(tenantId, wrong)).toBe("Unauthorized")
          expect((yield* totpState(tenantId, "alice"))?.failures).toBe(9)
        }))

      test("failure limit and back-off are configurable", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const secret = yield* enrol(tenantId)
          const wrong = (yield* codeAt(secret)) === "000000" ? "111111" : "000000"
          for (let i = 0; i < 3; i++) expect(yield* verify(tenantId, wrong)).toBe("Unauthorized")
          const locked = yield* Effect.flip(Totp.verify(tenantId, "alice", wrong))
          expect(locked._tag === "TooManyRequests" && locked.retryAfterSeconds).toBe(60)
        }), { totpFailureLimit: 3, totpBackoff: Duration.minutes(1) })

      test("200 concurrent wrong codes are all counted", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const secret = yield* enrol(tenantId)
          const wrong = (yield* codeAt(secret)) === "000000" ? "111111" : "000000"
          const results = yield* Effect.all(
            Array.from({ length: 200 }, () => verify(tenantId, wrong)),
            { concurrency: "unbounded" }
          )
          expect(results.every((r) => r === "Unauthorized")).toBe(true)
          expect((yield* totpState(tenantId, "alice"))?.failures).toBe(200)
        }), { totpFailureLimit: 1000 })

      test("of 200 concurrent wrong codes, exactly the limit are compared and the rest refused", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const secret = yield* enrol(tenantId)
          const wrong = (yield* codeAt(secret)) === "000000" ? "111111" : "000000"
          const results = yield* Effect.all(
            Array.from({ length: 200 }, () => verify(tenantId, wrong)),
            { concurrency: "unbounded" }
          )
          expect(results.filter((r) => r === "Unauthorized")).toHaveLength(10)
          expect(results.filter((r) => r === "TooManyRequests")).toHaveLength(190)
        }))

      test("a pending enrolment does not replace the confirmed secret until confirmed", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const first = yield* enrol(tenantId)
          expect(yield* verify(tenantId, yield* codeAt(first))).toBe("ok")
          const second = yield* enrol(tenantId)
          yield* TestClock.adjust(Duration.millis(step))
          // The confirmed secret keeps working while the new one is pending.
          expect(yield* verify(tenantId, yield* codeAt(first))).toBe("ok")
          yield* TestClock.adjust(Duration.millis(step))
          expect(yield* verify(tenantId, yield* codeAt(second))).toBe("ok")
          yield* TestClock.adjust(Duration.millis(step))
          // Confirmed: the new secret replaced the old one.
          expect(yield* verify(tenantId, yield* codeAt(first))).toBe("Unauthorized")
          expect(yield* verify(tenantId, yield* codeAt(second))).toBe("ok")
        }))

      test("disable erases the secret; codes are then refused", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const secret = yield* enrol(tenantId)
          yield* Totp.disable(tenantId, "alice")
          const state = yield* totpState(tenantId, "alice")
          expect(state?.confirmedSecret).toBeUndefined()
          expect(state?.pendingSecret).toBeUndefined()
          expect(yield* verify(tenantId, yield* codeAt(secret))).toBe("Unauthorized")
        }))

      test("not enabled is Unauthorized, an unknown user NotFound", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          expect(yield* verify(tenantId, "123456")).toBe("Unauthorized")
          expect(yield* verify(tenantId, "123456", "nobody")).toBe("NotFound")
          expect(tagOf(yield* Effect.either(Totp.enable(tenantId, "nobody")))).toBe("NotFound")
          expect(tagOf(yield* Effect.either(Totp.disable(tenantId, "nobody")))).toBe("NotFound")
        }))

      test("deleting a user erases its TOTP state", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* enrol(tenantId)
          yield* Users.remove(tenantId, "alice")
          expect(yield* totpState(tenantId, "alice")).toBeUndefined()
        }))

      // Issue 19: the enrolment checked the user, then wrote the secret in another step; a
      // deletion in between left a secret that signed in the next user created with that id.
      test("enabling TOTP while the user is deleted never leaves a secret for a user re-created with that id", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const pause = (yields: number) => Effect.forEach(Array.from({ length: yields }), () => Effect.yieldNow(), { discard: true })
          const outcomes = new Set<string>()
          for (let round = 0; round < 100; round++) {
            // Both orders of start, and a few yields before the second, so that the steps of the
            // two interleave differently from round to round.
            const yields = Math.floor(round / 2) % 4
            const enable = Effect.either(Totp.enable(tenantId, "alice"))
            const remove = Users.remove(tenantId, "alice")
            const enabled =
              round % 2 === 0
                ? (yield* Effect.all([enable, Effect.zipRight(pause(yields), remove)], { concurrency: "unbounded" }))[0]
                : (yield* Effect.all([remove, Effect.zipRight(pause(yields), enable)], { concurrency: "unbounded" }))[1]
            outcomes.add(tagOf(enabled))
            yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
            expect(yield* totpState(tenantId, "alice"), `round ${round}`).toBeUndefined()
            if (Either.isRight(enabled)) {
              const code = yield* codeAt(base32Decode(enabled.right.secretKey)!)
              expect(yield* verify(tenantId, code), `round ${round}`).toBe("Unauthorized")
            }
          }
          expect([...outcomes].every((tag) => tag === "ok" || tag === "NotFound")).toBe(true)
        }), { totpFailureLimit: 1000 })

      test("a tenant name and user id too long together for a QR code are a 400 before anything is written", () =>
        Effect.gen(function* () {
          // 128 characters each, as the limits allow: 3 bytes of UTF-8 each, 9 characters once
          // percent-encoded, 3,554 in the key URI, more than a QR code holds.
          const tenant = yield* Tenants.ensure({ name: "中".repeat(128), accessToken: `${adminToken}-cjk`, callbackUrl })
          const userId = "中".repeat(128)
          yield* Users.create(tenant.tenantId, { userId })
          const error = yield* Effect.flip(Totp.enable(tenant.tenantId, userId))
          expect(error._tag).toBe("InvalidPayload")
          expect(error.message).toContain("the tenant's name takes 1,152")
          expect(error.message).not.toContain("中")
          expect(yield* totpState(tenant.tenantId, userId)).toBeUndefined()
          // The longest ASCII id fits beside that name.
          yield* Users.create(tenant.tenantId, { userId: "a".repeat(128) })
          yield* enrol(tenant.tenantId, "a".repeat(128))
        }))

      test("an enrolment is written only for a user that exists, in the same step", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const storage = yield* Storage
          expect(yield* storage.setPendingTotp(tenantId, "nobody", "sealed", start)).toBe(false)
          expect(yield* totpState(tenantId, "nobody")).toBeUndefined()
          expect(yield* storage.setPendingTotp(tenantId, "alice", "sealed", start)).toBe(true)
          expect(yield* totpState(tenantId, "alice")).toMatchObject({ pendingSecret: "sealed", pendingSince: start })
        }))

      test("a pending enrolment not confirmed within 15 minutes is no longer accepted, and is dropped", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* Users.create(tenantId, { userId: "bob", email: "bob@example.com" })
          const alices = yield* enrol(tenantId)
          const bobs = yield* enrol(tenantId, "bob")
          yield* TestClock.adjust(Duration.millis(15 * 60_000 - 1))
          expect(yield* verify(tenantId, yield* codeAt(bobs), "bob")).toBe("ok")
          yield* TestClock.adjust(Duration.millis(1))
          expect(yield* verify(tenantId, yield* codeAt(alices))).toBe("Unauthorized")
          const state = yield* totpState(tenantId, "alice")
          expect(state?.pendingSecret).toBeUndefined()
          expect(state?.pendingSince).toBeUndefined()
          expect(yield* Totp.isEnabled(tenantId, "alice")).toBe(false)
          // A new enrolment starts its own 15 minutes.
          const again = yield* enrol(tenantId)
          yield* TestClock.adjust(Duration.minutes(14))
          expect(yield* verify(tenantId, yield* codeAt(again))).toBe("ok")
        }))

      test("a confirmed secret keeps working while a re-enrolment is pending and after it lapses", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const confirmed = yield* enrolConfirmed(tenantId)
          const pending = yield* enrol(tenantId)
          yield* TestClock.adjust(Duration.minutes(1))
          expect(yield* verify(tenantId, yield* codeAt(confirmed))).toBe("ok")
          yield* TestClock.adjust(Duration.minutes(15))
          expect(yield* verify(tenantId, yield* codeAt(pending))).toBe("Unauthorized")
          yield* TestClock.adjust(Duration.millis(step))
          expect(yield* verify(tenantId, yield* codeAt(confirmed))).toBe("ok")
          const state = yield* totpState(tenantId, "alice")
          expect(state?.pendingSecret).toBeUndefined()
          expect(state?.confirmedSecret).toBeDefined()
        }))

      test("the enrolment lifetime is configurable, and the purge drops enrolments past it", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const secret = yield* enrol(tenantId)
          yield* TestClock.adjust(Duration.minutes(1))
          expect(yield* purgeExpired).toBe(0)
          yield* TestClock.adjust(Duration.minutes(1))
          expect(yield* purgeExpired).toBe(1)
          expect((yield* totpState(tenantId, "alice"))?.pendingSecret).toBeUndefined()
          expect(yield* verify(tenantId, yield* codeAt(secret))).toBe("Unauthorized")
        }), { totpEnrolmentLifetime: Duration.millis(2 * 60_000 - 1) })

      /** Ten wrong codes, then the lock-out's length as a right code is told to wait. */
      const lockOut = (tenantId: string, secret: Uint8Array) =>
        Effect.gen(function* () {
          for (let i = 0; i < 10; i++) {
            const right = yield* codeAt(secret)
            expect(yield* verify(tenantId, right === "000000" ? "111111" : "000000")).toBe("Unauthorized")
          }
          const locked = yield* Effect.flip(Totp.verify(tenantId, "alice", yield* codeAt(secret)))
          expect(locked._tag).toBe("TooManyRequests")
          return locked._tag === "TooManyRequests" ? locked.retryAfterSeconds / 60 : Number.NaN
        })

      test("a lock-out that follows another within 24 hours doubles, up to 24 hours; a right code starts over", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const secret = yield* enrolConfirmed(tenantId)
          const minutes: Array<number> = []
          for (let i = 0; i < 9; i++) {
            const length = yield* lockOut(tenantId, secret)
            minutes.push(length)
            // Still locked a millisecond before the end, even for a right code.
            yield* TestClock.adjust(Duration.millis(length * 60_000 - 1))
            expect(yield* verify(tenantId, yield* codeAt(secret))).toBe("TooManyRequests")
            yield* TestClock.adjust(Duration.millis(1))
          }
          expect(minutes).toEqual([15, 30, 60, 120, 240, 480, 960, 1440, 1440])
          expect((yield* totpState(tenantId, "alice"))?.lockouts).toBe(8)
          // A right code resets the count and the escalation.
          expect(yield* verify(tenantId, yield* codeAt(secret))).toBe("ok")
          expect(yield* totpState(tenantId, "alice")).toMatchObject({ failures: 0, lockouts: 0, lockedUntil: undefined })
          yield* TestClock.adjust(Duration.millis(step))
          expect(yield* lockOut(tenantId, secret)).toBe(15)
        }))

      test("a lock-out 24 hours or more after the previous one ended lasts the first length again", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const secret = yield* enrolConfirmed(tenantId)
          expect(yield* lockOut(tenantId, secret)).toBe(15)
          yield* TestClock.adjust(Duration.minutes(15))
          expect(yield* lockOut(tenantId, secret)).toBe(30)
          yield* TestClock.adjust(Duration.sum(Duration.minutes(30), Duration.hours(24)))
          expect(yield* lockOut(tenantId, secret)).toBe(15)
        }))

      test("the escalation's limit and window are configurable", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const secret = yield* enrolConfirmed(tenantId)
          expect(yield* lockOut(tenantId, secret)).toBe(15)
          yield* TestClock.adjust(Duration.minutes(15 + 59))
          expect(yield* lockOut(tenantId, secret)).toBe(20)
          yield* TestClock.adjust(Duration.minutes(20 + 60))
          expect(yield* lockOut(tenantId, secret)).toBe(15)
        }), { totpBackoffMax: Duration.minutes(20), totpEscalationWindow: Duration.hours(1) })

      test("a secret the keyring cannot open answers Unavailable and counts nothing", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const secret = yield* enrolConfirmed(tenantId)
          // The key of the secret's id replaced by another, and a keyring without that id.
          const otherKey = { activeKeyId: testKeyring.activeKeyId, keys: { [testKeyring.activeKeyId]: new Uint8Array(32).fill(9) } }
          const withoutKey = { activeKeyId: "other", keys: { other: new Uint8Array(32).fill(9) } }
          for (const keyring of [otherKey, withoutKey]) {
            const sealer = yield* Effect.orDie(makeSealer(keyring))
            for (let i = 0; i < 25; i++) {
              const right = yield* codeAt(secret)
              const code = i % 2 === 0 ? right : right === "000000" ? "111111" : "000000"
              const error = yield* Effect.flip(Totp.verify(tenantId, "alice", code).pipe(Effect.provideService(Sealer, sealer)))
              expect(error._tag).toBe("Unavailable")
              expect(error.message).not.toMatch(/[A-Za-z0-9+/_-]{40}/)
            }
          }
          expect(yield* totpState(tenantId, "alice")).toMatchObject({ failures: 0, lockouts: 0 })
          // With the right keys again: not locked out.
          expect(yield* verify(tenantId, yield* codeAt(secret))).toBe("ok")
        }))
    })

    describe("keyring check", () => {
      const key = (fill: number) => new Uint8Array(32).fill(fill)
      const withKeyring = (keyring: Keyring) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.flatMap(Effect.orDie(makeSealer(keyring)), (sealer) => Effect.provideService(effect, Sealer, sealer))

      test("the first start writes the check value; the same keyring opens it again", () =>
        Effect.gen(function* () {
          const storage = yield* Storage
          expect(Option.isNone(yield* storage.getKeyCheck)).toBe(true)
          yield* Keys.verifyKeyring
          const written = yield* storage.getKeyCheck
          expect(Option.isSome(written) && written.value.startsWith(`v1.${testKeyring.activeKeyId}.`)).toBe(true)
          yield* Keys.verifyKeyring
          expect(yield* storage.getKeyCheck).toEqual(written)
        }))

      test("a rotated keyring that keeps the original key opens it; one without it fails naming the key ids", () =>
        Effect.gen(function* () {
          yield* Keys.verifyKeyring
          const original = testKeyring.keys.test
          yield* withKeyring({ activeKeyId: "k2", keys: { k2: key(2), [testKeyring.activeKeyId]: original } })(Keys.verifyKeyring)

          const without = yield* Effect.flip(withKeyring({ activeKeyId: "k2", keys: { k2: key(2) } })(Keys.verifyKeyring))
          expect(without).toMatchObject({ _tag: "KeyMismatch", sealedKeyId: testKeyring.activeKeyId, keyringHasId: false, activeKeyId: "k2" })
          expect(without.message).toContain(`"${testKeyring.activeKeyId}", which the keyring does not hold`)
          expect(without.message).toContain(`the active key is "k2"`)

          const sameIdOtherKey = yield* Effect.flip(
            withKeyring({ activeKeyId: testKeyring.activeKeyId, keys: { [testKeyring.activeKeyId]: key(3) } })(Keys.verifyKeyring)
          )
          expect(sameIdOtherKey).toMatchObject({ _tag: "KeyMismatch", keyringHasId: true })
          expect(sameIdOtherKey.message).toContain("a different key under that id")
          for (const error of [without, sameIdOtherKey]) {
            for (const k of [original, key(2), key(3)]) {
              expect(error.message).not.toContain(Buffer.from(k).toString("base64").slice(0, 20))
              expect(error.message).not.toContain(Buffer.from(k).toString("base64url").slice(0, 20))
            }
          }
        }))

      test("on a database with TOTP secrets from before the check, a wrong key fails the first start too", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* Totp.enable(tenantId, "alice")
          const wrong = yield* Effect.flip(
            withKeyring({ activeKeyId: testKeyring.activeKeyId, keys: { [testKeyring.activeKeyId]: key(4) } })(Keys.verifyKeyring)
          )
          expect(wrong._tag).toBe("KeyMismatch")
          expect(wrong.message).toContain("TOTP secret")
          const storage = yield* Storage
          expect(Option.isNone(yield* storage.getKeyCheck)).toBe(true)
          yield* Keys.verifyKeyring
          expect(Option.isSome(yield* storage.getKeyCheck)).toBe(true)
        }))

      test("resealKeyCheck moves the check value to the active key, after which the old key can go", () =>
        Effect.gen(function* () {
          yield* Keys.verifyKeyring
          const rotated = { activeKeyId: "k2", keys: { k2: key(2), [testKeyring.activeKeyId]: testKeyring.keys.test } }
          yield* withKeyring(rotated)(Keys.resealKeyCheck)
          const storage = yield* Storage
          const resealed = yield* storage.getKeyCheck
          expect(Option.isSome(resealed) && resealed.value.startsWith("v1.k2.")).toBe(true)
          yield* withKeyring({ activeKeyId: "k2", keys: { k2: key(2) } })(Keys.verifyKeyring)
          // Idempotent, and refused by a keyring that cannot open it.
          yield* withKeyring(rotated)(Keys.resealKeyCheck)
          expect(yield* storage.getKeyCheck).toEqual(resealed)
          expect((yield* Effect.flip(Keys.resealKeyCheck))._tag).toBe("KeyMismatch")
        }))
    })

    describe("users", () => {
      test("create, get, update, delete", () =>
        Effect.gen(function* () {
          const tenantId = yield* setupTenant()
          expect(yield* Users.create(tenantId, { userId: "dave" })).toEqual({ userId: "dave" })
          expect(Object.keys(yield* Users.get(tenantId, "dave"))).toEqual(["userId"])
          expect(tagOf(yield* Effect.either(Users.create(tenantId, { userId: "dave" })))).toBe("Conflict")
          expect(yield* Users.update(tenantId, "dave", { email: "dave@example.com" })).toEqual({
            userId: "dave",
            email: "dave@example.com"
          })
          expect(yield* Users.update(tenantId, "dave", {})).toEqual({ userId: "dave", email: "dave@example.com" })
          yield* Users.remove(tenantId, "dave")
          expect(tagOf(yield* Effect.either(Users.get(tenantId, "dave")))).toBe("NotFound")
          expect(tagOf(yield* Effect.either(Users.remove(tenantId, "dave")))).toBe("NotFound")
          expect(tagOf(yield* Effect.either(Users.update(tenantId, "dave", { email: "x@example.com" })))).toBe(
            "NotFound"
          )
        }))

      test("tenants never see each other's users", () =>
        Effect.gen(function* () {
          const a = yield* setupTenant("A")
          const b = yield* setupTenant("B")
          yield* Users.create(a, { userId: "erin", email: "erin@example.com" })
          expect(tagOf(yield* Effect.either(Users.get(b, "erin")))).toBe("NotFound")
          expect(tagOf(yield* Effect.either(Users.remove(b, "erin")))).toBe("NotFound")
          // The same id can exist in both tenants.
          expect(tagOf(yield* Effect.either(Users.create(b, { userId: "erin" })))).toBe("ok")
          expect(yield* Users.get(a, "erin")).toEqual({ userId: "erin", email: "erin@example.com" })
        }))
    })

    describe("access tokens and tenant", () => {
      test("the bootstrap token authenticates as ADMIN of its tenant; unknown tokens are Forbidden", () =>
        Effect.gen(function* () {
          const tenantId = yield* setupTenant()
          const principal = yield* Access.authenticate(`${adminToken}-Acme`)
          expect(principal.tenantId).toBe(tenantId)
          expect(principal.permissions).toEqual(["READ", "WRITE", "ADMIN"])
          expect(tagOf(yield* Effect.either(Access.authenticate("wrong")))).toBe("Forbidden")
          expect(tagOf(yield* Effect.either(Access.authenticate(undefined)))).toBe("Forbidden")
        }))

      test("a token cannot grant more than its own permissions; revocation is immediate", () =>
        Effect.gen(function* () {
          yield* setupTenant()
          const admin = yield* Access.authenticate(`${adminToken}-Acme`)
          yield* TestClock.adjust(Duration.seconds(1))
          const writer = yield* Tokens.create(admin, { tokenName: "writer", permissions: ["WRITE"] })
          expect(writer.permissions).toEqual(["READ", "WRITE"])
          // A random version 4 UUID (SPEC 1.6: the Java SDK parses tokenKey into java.util.UUID).
          expect(writer.tokenKey).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
          const writerPrincipal = yield* Access.authenticate(writer.tokenKey)
          expect(writerPrincipal.permissions).toEqual(["READ", "WRITE"])
          expect(tagOf(yield* Effect.either(Access.require(writerPrincipal, "ADMIN")))).toBe("Forbidden")
          expect(tagOf(yield* Effect.either(Tokens.create(writerPrincipal, { tokenName: "x", permissions: ["ADMIN"] })))).toBe(
            "Forbidden"
          )
          yield* TestClock.adjust(Duration.seconds(1))
          const reader = yield* Tokens.create(writerPrincipal, { tokenName: "reader" })
          expect(reader.permissions).toEqual(["READ"])
          expect(reader.createdBy).toBe(writerPrincipal.tokenId)

          const listed = yield* Tokens.list(admin)
          expect(listed.data.map((t) => t.tokenName)).toEqual(["bootstrap", "writer", "reader"])
          // The list shows public ids, never the bearer secret.
          expect(listed.data.some((t) => t.tokenKey === writer.tokenKey)).toBe(false)
          yield* Tokens.revoke(admin, writerPrincipal.tokenId)
          expect(tagOf(yield* Effect.either(Access.authenticate(writer.tokenKey)))).toBe("Forbidden")
          expect(tagOf(yield* Effect.either(Tokens.revoke(admin, writerPrincipal.tokenId)))).toBe("NotFound")
          // The reader it created is unaffected.
          expect(tagOf(yield* Effect.either(Access.authenticate(reader.tokenKey)))).toBe("ok")
        }))

      test("token list pages", () =>
        Effect.gen(function* () {
          yield* setupTenant()
          const admin = yield* Access.authenticate(`${adminToken}-Acme`)
          for (let i = 0; i < 4; i++) {
            yield* TestClock.adjust(Duration.seconds(1))
            yield* Tokens.create(admin, { tokenName: `t${i}` })
          }
          const first = yield* Tokens.list(admin, { size: 2, page: 1 })
          expect(first.data.map((t) => t.tokenName)).toEqual(["bootstrap", "t0"])
          expect(first.paging).toEqual({ previous: "", next: "/v1/tokens?size=2&page=2" })
          const last = yield* Tokens.list(admin, { size: 2, page: 3 })
          expect(last.data.map((t) => t.tokenName)).toEqual(["t3"])
          expect(last.paging).toEqual({ previous: "/v1/tokens?size=2&page=2", next: "" })
        }))

      test("tokens of one tenant cannot revoke another's", () =>
        Effect.gen(function* () {
          yield* setupTenant("A")
          yield* setupTenant("B")
          const a = yield* Access.authenticate(`${adminToken}-A`)
          const b = yield* Access.authenticate(`${adminToken}-B`)
          expect(tagOf(yield* Effect.either(Tokens.revoke(b, a.tokenId)))).toBe("NotFound")
          expect((yield* Tokens.list(b)).data).toHaveLength(1)
        }))

      test("the tenant is complete and its callback URL can be set", () =>
        Effect.gen(function* () {
          const tenantId = yield* setupTenant()
          const tenant = yield* Tenants.get(tenantId)
          expect(tenant).toMatchObject({ tenantId, tenantName: "Acme", activated: true })
          expect(Object.values(tenant.companyInfo).every((v) => v === "")).toBe(true)
          const updated = yield* Tenants.update(tenantId, { callbackUrl: "https://new.example.com/in/{}" })
          expect(updated.callbackUrl).toBe("https://new.example.com/in/{}")
          expect((yield* Tenants.get(tenantId)).callbackUrl).toBe("https://new.example.com/in/{}")
        }))
    })
  })
