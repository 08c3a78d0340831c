/**
 * The behavioural suite of SPEC 5 (recovery codes, the e-mail code, the sign-in handoff), run on
 * every storage layer beside the main suite (memory.test.ts, sqlite.test.ts, pg.test.ts). It
 * drives the operations as the HTTP layer does, on Effect's TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, type Layer, Option, TestClock } from "effect"
import type { PolicySettings } from "../../src/domain/policies.js"
import { base32Decode, totpAt } from "../../src/crypto/otp.js"
import { RECOVERY_ALPHABET } from "../../src/crypto/codes.js"
import { makeSealer, Sealer } from "../../src/crypto/Sealer.js"
import { readMailbox } from "../../src/mail/DevMailbox.js"
import { messageCode } from "../../src/mail/Message.js"
import * as EmailCode from "../../src/operations/EmailCode.js"
import * as Handoff from "../../src/operations/Handoff.js"
import * as MagicLink from "../../src/operations/MagicLink.js"
import * as RecoveryCodes from "../../src/operations/RecoveryCodes.js"
import * as Totp from "../../src/operations/Totp.js"
import * as Users from "../../src/operations/Users.js"
import { hashToken } from "../../src/crypto/tokens.js"
import { Storage } from "../../src/storage/Storage.js"
import { services, setupTenant, type StorageLayer, testKeyring, totpState } from "./harness.js"

// 2026-01-01T00:00:00Z, as in the main suite.
const start = Date.UTC(2026, 0, 1)
const step = 30_000

type Provided = Layer.Layer.Success<ReturnType<typeof services>>

const tagOf = <A, E extends { readonly _tag: string }>(e: Either.Either<A, E>) =>
  Either.isRight(e) ? "ok" : e.left._tag

const now = Effect.clockWith((c) => c.currentTimeMillis)

/** The link's token and the code of the newest message to `email`. */
export const lastMail = (email: string) =>
  Effect.gen(function* () {
    for (const { message } of yield* readMailbox(1000)) {
      const match = /https:\/\/app\.example\.com\/login\/([A-Za-z0-9_-]{43})/.exec(message.text)
      if (message.to === email && match) return { token: match[1]!, code: messageCode(message), text: message.text }
    }
    return yield* Effect.dieMessage(`no mail was sent to ${email}`)
  })

/** A code of the same length that is not `code`. */
const otherCode = (code: string) => code.replace(/^./, (d) => String((Number(d) + 1) % 10))

export const recoverySuite = (name: string, makeStorage: () => StorageLayer) =>
  describe(`recovery and cross-device sign-in on ${name}`, () => {
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

    const withUser = (userId = "alice", email = `${userId}@example.com`) =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId, email })
        return tenantId
      })

    /** TOTP enrolled and confirmed, one step later (so codes are free again). */
    const withTotp = (tenantId: string, userId = "alice") =>
      Effect.gen(function* () {
        const secret = base32Decode((yield* Totp.enable(tenantId, userId)).secretKey)!
        yield* Totp.verify(tenantId, userId, totpAt(secret, yield* now))
        yield* TestClock.adjust(Duration.millis(step))
        return secret
      })

    describe("recovery codes", () => {
      const verify = (tenantId: string, code: string, userId = "alice") =>
        Effect.map(Effect.either(RecoveryCodes.verify(tenantId, userId, code)), tagOf)

      test("need a confirmed authenticator (400); a set is 10 codes of xxxx-xxxx-xxxx-xxxx from 32 letters, counted by status", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const refused = yield* Effect.flip(RecoveryCodes.generate(tenantId, "alice"))
          expect(refused._tag).toBe("InvalidPayload")
          expect(refused.message).toContain("TOTP")
          // A pending enrolment is not enough.
          yield* Totp.enable(tenantId, "alice")
          expect(tagOf(yield* Effect.either(RecoveryCodes.generate(tenantId, "alice")))).toBe("InvalidPayload")
          expect(tagOf(yield* Effect.either(RecoveryCodes.generate(tenantId, "nobody")))).toBe("NotFound")
          expect(yield* RecoveryCodes.status(tenantId, "alice")).toEqual({ remaining: 0 })
          expect(tagOf(yield* Effect.either(RecoveryCodes.status(tenantId, "nobody")))).toBe("NotFound")

          yield* Totp.disable(tenantId, "alice")
          yield* withTotp(tenantId)
          const set = yield* RecoveryCodes.generate(tenantId, "alice")
          expect(set.codes).toHaveLength(10)
          expect(new Set(set.codes).size).toBe(10)
          const letters = `[${RECOVERY_ALPHABET}]{4}`
          for (const code of set.codes) expect(code).toMatch(new RegExp(`^${letters}-${letters}-${letters}-${letters}$`))
          expect(RECOVERY_ALPHABET).toHaveLength(32)
          expect(RECOVERY_ALPHABET).not.toMatch(/[01IO]/)
          expect(set.createdAt).toBe(new Date(yield* now).toISOString())
          expect(yield* RecoveryCodes.status(tenantId, "alice")).toEqual({ remaining: 10, createdAt: set.createdAt })
        }))

      test("a code signs in once (dashes, spaces and case ignored), and the count goes down", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* withTotp(tenantId)
          const { codes } = yield* RecoveryCodes.generate(tenantId, "alice")
          expect(yield* RecoveryCodes.verify(tenantId, "alice", codes[0]!)).toEqual({ userId: "alice", email: "alice@example.com" })
          expect(yield* verify(tenantId, codes[0]!)).toBe("Unauthorized")
          const typed = ` ${codes[1]!.toLowerCase().replaceAll("-", " ")} `
          expect(yield* verify(tenantId, typed)).toBe("ok")
          expect(yield* verify(tenantId, codes[2]!.replaceAll("-", ""))).toBe("ok")
          expect((yield* RecoveryCodes.status(tenantId, "alice")).remaining).toBe(7)
          for (const bad of ["", "x", "a".repeat(64), codes[3]!.slice(0, 18)]) expect(yield* verify(tenantId, bad)).toBe("Unauthorized")
          expect(yield* verify(tenantId, codes[3]!, "nobody")).toBe("NotFound")
        }))

      test("a new set replaces the old at once", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* withTotp(tenantId)
          const first = yield* RecoveryCodes.generate(tenantId, "alice")
          yield* verify(tenantId, first.codes[0]!)
          yield* TestClock.adjust(Duration.minutes(1))
          const second = yield* RecoveryCodes.generate(tenantId, "alice")
          expect(second.codes.some((c) => first.codes.includes(c))).toBe(false)
          expect(yield* RecoveryCodes.status(tenantId, "alice")).toEqual({ remaining: 10, createdAt: second.createdAt })
          for (const old of first.codes.slice(1)) expect(yield* verify(tenantId, old)).toBe("Unauthorized")
          expect(yield* verify(tenantId, second.codes[9]!)).toBe("ok")
        }), { totpFailureLimit: 100 })

      test("of 20 concurrent uses of one code exactly one succeeds (the others are wrong, or throttled past the limit)", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* withTotp(tenantId)
          const { codes } = yield* RecoveryCodes.generate(tenantId, "alice")
          const results = yield* Effect.all(Array.from({ length: 20 }, () => verify(tenantId, codes[0]!)), { concurrency: "unbounded" })
          expect(results.filter((r) => r === "ok")).toHaveLength(1)
          expect(results.every((r) => r === "ok" || r === "Unauthorized" || r === "TooManyRequests")).toBe(true)
          expect((yield* RecoveryCodes.status(tenantId, "alice")).remaining).toBe(9)
        }))

      test("of 20 concurrent uses of one code exactly one succeeds and 19 are wrong, with room under the failure limit, for every code", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* withTotp(tenantId)
          const { codes } = yield* RecoveryCodes.generate(tenantId, "alice")
          for (const code of codes) {
            const results = yield* Effect.all(Array.from({ length: 20 }, () => verify(tenantId, code)), { concurrency: "unbounded" })
            expect(results.filter((r) => r === "ok")).toHaveLength(1)
            expect(results.filter((r) => r === "Unauthorized")).toHaveLength(19)
          }
          expect((yield* RecoveryCodes.status(tenantId, "alice")).remaining).toBe(0)
        }), { totpFailureLimit: 1000 })

      test("wrong recovery codes count in the TOTP failure counter and lock-out; a right one resets them", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const secret = yield* withTotp(tenantId)
          const { codes } = yield* RecoveryCodes.generate(tenantId, "alice")
          const wrongTotp = (code: string) => (code === "000000" ? "111111" : "000000")
          // Five wrong TOTP codes and five wrong recovery codes: ten failures, the limit.
          for (let i = 0; i < 5; i++) {
            expect(tagOf(yield* Effect.either(Totp.verify(tenantId, "alice", wrongTotp(totpAt(secret, yield* now)))))).toBe("Unauthorized")
            expect(yield* verify(tenantId, "2222-2222-2222-2222")).toBe("Unauthorized")
          }
          expect((yield* totpState(tenantId, "alice"))?.failures).toBe(10)
          // Locked out: even a right recovery code, and a right TOTP code, are refused.
          const locked = yield* Effect.flip(RecoveryCodes.verify(tenantId, "alice", codes[0]!))
          expect(locked._tag === "TooManyRequests" && locked.retryAfterSeconds).toBe(15 * 60)
          expect(tagOf(yield* Effect.either(Totp.verify(tenantId, "alice", totpAt(secret, yield* now))))).toBe("TooManyRequests")
          // The code was not used up by the refused attempt.
          expect((yield* RecoveryCodes.status(tenantId, "alice")).remaining).toBe(10)
          yield* TestClock.adjust(Duration.minutes(15))
          // The next lock-out follows within 24 hours: recovery codes alone escalate it to 30 minutes.
          for (let i = 0; i < 9; i++) expect(yield* verify(tenantId, "2222-2222-2222-2222")).toBe("Unauthorized")
          const again = yield* Effect.flip(RecoveryCodes.verify(tenantId, "alice", "2222-2222-2222-2222"))
          expect(again._tag).toBe("Unauthorized")
          const longer = yield* Effect.flip(RecoveryCodes.verify(tenantId, "alice", codes[0]!))
          expect(longer._tag === "TooManyRequests" && longer.retryAfterSeconds).toBe(30 * 60)
          expect((yield* totpState(tenantId, "alice"))?.lockouts).toBe(2)
          yield* TestClock.adjust(Duration.minutes(30))
          // A right recovery code resets the count and the escalation, as a right TOTP code does.
          expect(yield* verify(tenantId, codes[0]!)).toBe("ok")
          expect(yield* totpState(tenantId, "alice")).toMatchObject({ failures: 0, lockouts: 0, lockedUntil: undefined })
        }))

      test("turning TOTP off erases them, and so does deleting the user", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* withTotp(tenantId)
          const { codes } = yield* RecoveryCodes.generate(tenantId, "alice")
          yield* Totp.disable(tenantId, "alice")
          expect(yield* RecoveryCodes.status(tenantId, "alice")).toEqual({ remaining: 0 })
          // Turned on again: the old codes stay gone.
          yield* withTotp(tenantId)
          expect(yield* verify(tenantId, codes[0]!)).toBe("Unauthorized")

          yield* RecoveryCodes.generate(tenantId, "alice")
          yield* Users.remove(tenantId, "alice")
          yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
          const storage = yield* Storage
          expect(Option.isNone(yield* storage.getRecoveryCodes(tenantId, "alice"))).toBe(true)
        }), { totpFailureLimit: 100 })

      test("a set is written only while the user has a confirmed authenticator, in the same step", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const storage = yield* Storage
          const set = { keyId: testKeyring.activeKeyId, hashes: ["h1", "h2"], createdAt: start }
          expect(yield* storage.replaceRecoveryCodes(tenantId, "nobody", set)).toBe("NoUser")
          expect(yield* storage.replaceRecoveryCodes(tenantId, "alice", set)).toBe("NoTotp")
          yield* withTotp(tenantId)
          expect(yield* storage.replaceRecoveryCodes(tenantId, "alice", set)).toBe("Replaced")
          expect(yield* storage.getRecoveryCodes(tenantId, "alice")).toEqual(
            Option.some({ keyId: testKeyring.activeKeyId, remaining: 2, createdAt: start })
          )
          // Used once; the counter reset comes with it.
          expect(yield* storage.useRecoveryCode(tenantId, "alice", "h1", start)).toBe(true)
          expect(yield* storage.useRecoveryCode(tenantId, "alice", "h1", start)).toBe(false)
          expect(yield* storage.useRecoveryCode(tenantId, "alice", "h3", start)).toBe(false)
        }))

      test("the number of codes is configurable", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* withTotp(tenantId)
          expect((yield* RecoveryCodes.generate(tenantId, "alice")).codes).toHaveLength(3)
        }), { recoveryCodeCount: 3 })

      test("codes keep working under a rotated keyring that keeps their key; without it they answer Unavailable and count nothing", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* withTotp(tenantId)
          const { codes } = yield* RecoveryCodes.generate(tenantId, "alice")
          const rotated = yield* Effect.orDie(
            makeSealer({ activeKeyId: "k2", keys: { k2: new Uint8Array(32).fill(2), ...testKeyring.keys } })
          )
          const withoutKey = yield* Effect.orDie(makeSealer({ activeKeyId: "k2", keys: { k2: new Uint8Array(32).fill(2) } }))
          for (let i = 0; i < 12; i++) {
            const error = yield* Effect.flip(RecoveryCodes.verify(tenantId, "alice", codes[0]!).pipe(Effect.provideService(Sealer, withoutKey)))
            expect(error._tag).toBe("Unavailable")
          }
          expect((yield* totpState(tenantId, "alice"))?.failures).toBe(0)
          expect(yield* RecoveryCodes.verify(tenantId, "alice", codes[0]!).pipe(Effect.map(() => "ok"), Effect.provideService(Sealer, rotated))).toBe("ok")
          // A set made under the rotated keyring is hashed under its active key.
          yield* RecoveryCodes.generate(tenantId, "alice").pipe(Effect.provideService(Sealer, rotated))
          const storage = yield* Storage
          expect(Option.map(yield* storage.getRecoveryCodes(tenantId, "alice"), (s) => s.keyId)).toEqual(Option.some("k2"))
        }))
    })

    describe("the e-mail code", () => {
      const verify = (tenantId: string, code: string, userId = "alice") =>
        Effect.map(Effect.either(EmailCode.verify(tenantId, userId, code)), tagOf)

      test("every sign-in mail carries a 6-digit code beside its link; the code signs in once and uses the link up", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const { code, text, token } = yield* lastMail("alice@example.com")
          expect(code).toMatch(/^\d{6}$/)
          expect(text).toContain(token)
          expect(yield* EmailCode.verify(tenantId, "alice", code!)).toEqual({ userId: "alice", email: "alice@example.com" })
          expect(yield* verify(tenantId, code!)).toBe("Unauthorized")
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, token)))).toBe("Unauthorized")
        }))

      test("using the link uses the code up", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const { code, token } = yield* lastMail("alice@example.com")
          yield* MagicLink.verify(tenantId, token)
          expect(yield* verify(tenantId, code!)).toBe("Unauthorized")
        }))

      test("five wrong codes end the challenge, its link too; four leave it working", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* Users.create(tenantId, { userId: "bob", email: "bob@example.com" })
          yield* MagicLink.send(tenantId, "alice")
          yield* MagicLink.send(tenantId, "bob")
          const alices = yield* lastMail("alice@example.com")
          const bobs = yield* lastMail("bob@example.com")
          for (let i = 0; i < 4; i++) {
            expect(yield* verify(tenantId, otherCode(alices.code!))).toBe("Unauthorized")
            expect(yield* verify(tenantId, otherCode(bobs.code!), "bob")).toBe("Unauthorized")
          }
          expect(yield* verify(tenantId, alices.code!)).toBe("ok")
          const fifth = yield* Effect.flip(EmailCode.verify(tenantId, "bob", otherCode(bobs.code!)))
          expect(fifth.message).toContain("no longer work")
          expect(yield* verify(tenantId, bobs.code!, "bob")).toBe("Unauthorized")
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, bobs.token)))).toBe("Unauthorized")
        }))

      test("of 20 concurrent right codes one succeeds; of 20 concurrent wrong codes five count, and end the challenge", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const first = yield* lastMail("alice@example.com")
          const rights = yield* Effect.all(Array.from({ length: 20 }, () => verify(tenantId, first.code!)), { concurrency: "unbounded" })
          expect(rights.filter((r) => r === "ok")).toHaveLength(1)
          expect(rights.filter((r) => r === "Unauthorized")).toHaveLength(19)

          yield* MagicLink.send(tenantId, "alice")
          const second = yield* lastMail("alice@example.com")
          const wrongs = yield* Effect.all(
            Array.from({ length: 20 }, () => Effect.either(EmailCode.verify(tenantId, "alice", otherCode(second.code!)))),
            { concurrency: "unbounded" }
          )
          const messages = wrongs.map((r) => (Either.isLeft(r) ? r.left.message : "ok"))
          expect(messages.filter((m) => m === "The code is wrong")).toHaveLength(4)
          expect(messages.filter((m) => m.includes("no longer work"))).toHaveLength(1)
          expect(yield* verify(tenantId, second.code!)).toBe("Unauthorized")
        }))

      test("a newer mail replaces the code of the older one; the code expires with the link", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const older = yield* lastMail("alice@example.com")
          yield* TestClock.adjust(Duration.seconds(1))
          yield* MagicLink.send(tenantId, "alice")
          const newer = yield* lastMail("alice@example.com")
          if (older.code !== newer.code) expect(yield* verify(tenantId, older.code!)).toBe("Unauthorized")
          yield* TestClock.adjust(Duration.millis(10 * 60_000 - 1))
          expect(yield* verify(tenantId, otherCode(newer.code!))).toBe("Unauthorized")
          yield* TestClock.adjust(Duration.millis(1))
          expect(yield* verify(tenantId, newer.code!)).toBe("Unauthorized")
        }))

      test("a code is for its user and tenant only", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* Users.create(tenantId, { userId: "bob", email: "bob@example.com" })
          const other = yield* setupTenant("Other")
          yield* Users.create(other, { userId: "alice", email: "alice@example.com" })
          yield* MagicLink.send(tenantId, "alice")
          const { code } = yield* lastMail("alice@example.com")
          expect(yield* verify(tenantId, code!, "bob")).toBe("Unauthorized")
          expect(yield* verify(other, code!)).toBe("Unauthorized")
          expect(yield* verify(tenantId, code!, "nobody")).toBe("NotFound")
          expect(yield* verify(tenantId, code!)).toBe("ok")
        }))

      test("its length is configurable", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const { code } = yield* lastMail("alice@example.com")
          expect(code).toMatch(/^\d{8}$/)
          expect(yield* verify(tenantId, `${code!.slice(0, 4)}-${code!.slice(4)}`)).toBe("ok")
        }), { emailCodeLength: 8 })

      test("it can be turned off: the mail carries the link only, and no code is accepted", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          yield* MagicLink.send(tenantId, "alice")
          const { code, text, token } = yield* lastMail("alice@example.com")
          expect(code).toBeUndefined()
          expect(text).not.toMatch(/code/i)
          expect(yield* verify(tenantId, "123456")).toBe("Unauthorized")
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, token)))).toBe("ok")
        }), { emailCodeLength: 0 })
    })

    describe("the sign-in handoff", () => {
      const waitFor = (tenantId: string, handoffId: string, seconds: number) =>
        Effect.fork(Handoff.status(tenantId, handoffId, seconds))

      test("starts with the mail (link and code) and answers its id, the number to show and the expiry; the choices hold the number and consume nothing", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const handoff = yield* Handoff.start(tenantId, "alice")
          expect(handoff.handoffId).toMatch(/^[A-Za-z0-9_-]{43}$/)
          expect(handoff.matchNumber).toBeGreaterThanOrEqual(10)
          expect(handoff.matchNumber).toBeLessThanOrEqual(99)
          expect(handoff.expiresAt).toBe(new Date(start + 10 * 60_000).toISOString())
          const mail = yield* lastMail("alice@example.com")
          expect(mail.code).toMatch(/^\d{6}$/)
          expect(mail.text).toContain("on any device")
          const { choices } = yield* Handoff.choices(tenantId, mail.token)
          expect(choices).toHaveLength(3)
          expect(new Set(choices).size).toBe(3)
          expect(choices).toContain(handoff.matchNumber)
          // The same numbers, in the same order, every time: a reload must not tell the right one.
          expect((yield* Handoff.choices(tenantId, mail.token)).choices).toEqual(choices)
          expect(yield* Handoff.status(tenantId, handoff.handoffId)).toEqual({ status: "pending" })
        }))

      test("the right number approves it: the waiting reader gets the user, at once; a second reader gets expired", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const handoff = yield* Handoff.start(tenantId, "alice")
          const { token } = yield* lastMail("alice@example.com")
          const waiting = yield* waitFor(tenantId, handoff.handoffId, 30)
          yield* TestClock.adjust(Duration.seconds(1))
          yield* Handoff.approve(tenantId, token, handoff.matchNumber)
          const before = yield* now
          expect(yield* Fiber.join(waiting)).toEqual({ status: "approved", user: { userId: "alice", email: "alice@example.com" } })
          // Answered by the decision, not by the end of the wait.
          expect(yield* now).toBe(before)
          expect(yield* Handoff.status(tenantId, handoff.handoffId, 30)).toEqual({ status: "expired" })
          // The link was used up by the approval.
          expect(tagOf(yield* Effect.either(Handoff.approve(tenantId, token, handoff.matchNumber)))).toBe("Unauthorized")
          expect(tagOf(yield* Effect.either(Handoff.choices(tenantId, token)))).toBe("Unauthorized")
        }))

      test("of 10 readers waiting on one handoff, exactly one gets the user", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const handoff = yield* Handoff.start(tenantId, "alice")
          const { token } = yield* lastMail("alice@example.com")
          const readers = yield* Effect.forEach(Array.from({ length: 10 }), () => waitFor(tenantId, handoff.handoffId, 30))
          yield* TestClock.adjust(Duration.seconds(1))
          yield* Handoff.approve(tenantId, token, handoff.matchNumber)
          const answers = yield* Effect.forEach(readers, Fiber.join)
          expect(answers.filter((a) => a.status === "approved")).toHaveLength(1)
          expect(answers.filter((a) => a.status === "expired")).toHaveLength(9)
          expect(answers.find((a) => a.status === "approved")?.user).toEqual({ userId: "alice", email: "alice@example.com" })
        }))

      test("a wrong number denies it and burns the link; of concurrent decisions exactly one is taken", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const handoff = yield* Handoff.start(tenantId, "alice")
          const { code, token } = yield* lastMail("alice@example.com")
          const { choices } = yield* Handoff.choices(tenantId, token)
          const wrong = choices.find((n) => n !== handoff.matchNumber)!
          const waiting = yield* waitFor(tenantId, handoff.handoffId, 30)
          const denied = yield* Effect.flip(Handoff.approve(tenantId, token, wrong))
          expect(denied._tag).toBe("Unauthorized")
          expect(denied.message).toContain("refused")
          expect(yield* Fiber.join(waiting)).toEqual({ status: "denied" })
          expect(yield* Handoff.status(tenantId, handoff.handoffId)).toEqual({ status: "denied" })
          // Burnt: the right number, the choices, the link and the code all fail now.
          expect(tagOf(yield* Effect.either(Handoff.approve(tenantId, token, handoff.matchNumber)))).toBe("Unauthorized")
          expect(tagOf(yield* Effect.either(Handoff.choices(tenantId, token)))).toBe("Unauthorized")
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, token)))).toBe("Unauthorized")
          expect(tagOf(yield* Effect.either(EmailCode.verify(tenantId, "alice", code!)))).toBe("Unauthorized")

          for (let round = 0; round < 5; round++) {
            yield* TestClock.adjust(Duration.minutes(3))
            const next = yield* Handoff.start(tenantId, "alice")
            const link = (yield* lastMail("alice@example.com")).token
            const others = (yield* Handoff.choices(tenantId, link)).choices.filter((n) => n !== next.matchNumber)
            const decisions = yield* Effect.all(
              Array.from({ length: 20 }, (_, i) =>
                Effect.either(Handoff.approve(tenantId, link, i % 4 === 0 ? next.matchNumber : others[i % 2]!))),
              { concurrency: "unbounded" }
            )
            const taken = decisions.filter((d) => Either.isRight(d) || d.left.message.includes("refused"))
            expect(taken, `round ${round}`).toHaveLength(1)
            const status = (yield* Handoff.status(tenantId, next.handoffId)).status
            expect(status).toBe(Either.isRight(taken[0]!) ? "approved" : "denied")
          }
        }), { sendLimit: 20 })

      test("a handoff's link does not sign in the device that opens it (401 saying why); a plain link is no handoff", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const handoff = yield* Handoff.start(tenantId, "alice")
          const { token } = yield* lastMail("alice@example.com")
          const refused = yield* Effect.flip(MagicLink.verify(tenantId, token))
          expect(refused._tag).toBe("Unauthorized")
          expect(refused.message).toContain("another device")
          expect(refused.message.length).toBeLessThanOrEqual(300)
          // Refused without consuming it: it still approves the handoff.
          yield* Handoff.approve(tenantId, token, handoff.matchNumber)
          expect((yield* Handoff.status(tenantId, handoff.handoffId)).status).toBe("approved")

          yield* TestClock.adjust(Duration.minutes(1))
          yield* MagicLink.send(tenantId, "alice")
          const plain = (yield* lastMail("alice@example.com")).token
          expect(tagOf(yield* Effect.either(Handoff.choices(tenantId, plain)))).toBe("Unauthorized")
          expect(tagOf(yield* Effect.either(Handoff.approve(tenantId, plain, 42)))).toBe("Unauthorized")
          expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, plain)))).toBe("ok")
        }))

      test("the long poll ends at its wait with pending; the handoff expires with its link", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const handoff = yield* Handoff.start(tenantId, "alice")
          const { token } = yield* lastMail("alice@example.com")
          const waiting = yield* waitFor(tenantId, handoff.handoffId, 30)
          yield* TestClock.adjust(Duration.millis(29_999))
          expect(yield* Fiber.poll(waiting)).toEqual(Option.none())
          yield* TestClock.adjust(Duration.millis(1))
          expect(yield* Fiber.join(waiting)).toEqual({ status: "pending" })
          // A wait that outlasts the link answers expired when the link does.
          yield* TestClock.adjust(Duration.millis(9 * 60_000 + 20_000))
          const last = yield* waitFor(tenantId, handoff.handoffId, 30)
          yield* TestClock.adjust(Duration.millis(9_999))
          expect(yield* Fiber.poll(last)).toEqual(Option.none())
          yield* TestClock.adjust(Duration.millis(1))
          expect(yield* Fiber.join(last)).toEqual({ status: "expired" })
          expect(tagOf(yield* Effect.either(Handoff.approve(tenantId, token, handoff.matchNumber)))).toBe("Unauthorized")
          expect(tagOf(yield* Effect.either(Handoff.choices(tenantId, token)))).toBe("Unauthorized")
        }))

      test("an approved handoff not read before it expires is expired", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const handoff = yield* Handoff.start(tenantId, "alice")
          yield* Handoff.approve(tenantId, (yield* lastMail("alice@example.com")).token, handoff.matchNumber)
          yield* TestClock.adjust(Duration.minutes(10))
          expect(yield* Handoff.status(tenantId, handoff.handoffId)).toEqual({ status: "expired" })
        }))

      test("a newer link, or the mail's code, ends a pending handoff: expired", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const first = yield* Handoff.start(tenantId, "alice")
          yield* TestClock.adjust(Duration.seconds(1))
          yield* MagicLink.send(tenantId, "alice")
          expect(yield* Handoff.status(tenantId, first.handoffId)).toEqual({ status: "expired" })

          yield* TestClock.adjust(Duration.seconds(1))
          const second = yield* Handoff.start(tenantId, "alice")
          const { code, token } = yield* lastMail("alice@example.com")
          // The code signs in where it is typed: the waiting device itself, through its back end.
          expect(yield* EmailCode.verify(tenantId, "alice", code!)).toEqual({ userId: "alice", email: "alice@example.com" })
          expect(yield* Handoff.status(tenantId, second.handoffId)).toEqual({ status: "expired" })
          expect(tagOf(yield* Effect.either(Handoff.approve(tenantId, token, second.matchNumber)))).toBe("Unauthorized")
        }))

      test("an unknown id, another tenant's, a malformed one, or a deleted user's: NotFound", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const other = yield* setupTenant("Other")
          const handoff = yield* Handoff.start(tenantId, "alice")
          for (const [tenant, id] of [
            [tenantId, "A".repeat(43)],
            [tenantId, "short"],
            [other, handoff.handoffId]
          ] as const) {
            expect(tagOf(yield* Effect.either(Handoff.status(tenant, id, 5)))).toBe("NotFound")
          }
          yield* Users.remove(tenantId, "alice")
          expect(tagOf(yield* Effect.either(Handoff.status(tenantId, handoff.handoffId)))).toBe("NotFound")
        }))

      test("starting one is throttled as sending a link is; unknown users are NotFound", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          for (let i = 0; i < 5; i++) yield* Handoff.start(tenantId, "alice")
          expect(tagOf(yield* Effect.either(Handoff.start(tenantId, "alice")))).toBe("TooManyRequests")
          expect(tagOf(yield* Effect.either(MagicLink.send(tenantId, "alice")))).toBe("TooManyRequests")
          expect(tagOf(yield* Effect.either(Handoff.start(tenantId, "nobody")))).toBe("NotFound")
        }))

      test("a decision wakes the storage's watchers of that handoff, and not those of a handoff still pending", () =>
        Effect.gen(function* () {
          const tenantId = yield* withUser()
          const storage = yield* Storage
          yield* Users.create(tenantId, { userId: "bob", email: "bob@example.com" })
          const first = yield* Handoff.start(tenantId, "alice")
          const firstLink = (yield* lastMail("alice@example.com")).token
          const second = yield* Handoff.start(tenantId, "bob")
          yield* Effect.scoped(
            Effect.gen(function* () {
              const changed = yield* storage.watchHandoff(hashToken(first.handoffId))
              // Still pending after the polls of the next second: not woken.
              const other = yield* storage.watchHandoff(hashToken(second.handoffId))
              const woken = yield* Effect.fork(changed)
              const untouched = yield* Effect.fork(other)
              yield* Handoff.approve(tenantId, firstLink, first.matchNumber)
              yield* Fiber.join(woken)
              yield* TestClock.adjust(Duration.seconds(1))
              expect(yield* Fiber.poll(untouched)).toEqual(Option.none())
              yield* Fiber.interrupt(untouched)
            })
          )
        }))
    })
  })
