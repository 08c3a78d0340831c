/**
 * The behavioural suite of the event log (SPEC 6.1, 6.2), run on every storage layer beside the
 * main suite: each operation writes its events, none on a failed write, none holds a token, a
 * code, a secret or an e-mail address, and a reader following `next` reads each event once.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, type Layer, TestClock } from "effect"
import type { PolicySettings } from "../../src/domain/policies.js"
import { base32Decode, totpAt } from "../../src/crypto/otp.js"
import * as EmailCode from "../../src/operations/EmailCode.js"
import * as Events from "../../src/operations/Events.js"
import * as Handoff from "../../src/operations/Handoff.js"
import * as MagicLink from "../../src/operations/MagicLink.js"
import { purgeExpired } from "../../src/operations/Purge.js"
import * as RecoveryCodes from "../../src/operations/RecoveryCodes.js"
import * as Tenants from "../../src/operations/Tenants.js"
import * as Tokens from "../../src/operations/Tokens.js"
import * as Totp from "../../src/operations/Totp.js"
import * as Users from "../../src/operations/Users.js"
import { adminToken, services, setupTenant, type StorageLayer } from "./harness.js"
import { lastMail } from "./recovery-suite.js"

const start = Date.UTC(2026, 0, 1)
const step = 30_000

type Provided = Layer.Layer.Success<ReturnType<typeof services>>

const now = Effect.clockWith((c) => c.currentTimeMillis)

type WireEvent = Effect.Effect.Success<ReturnType<typeof Events.list>>["events"][number]

/**
 * Every event of the tenant, following `next` pages of `limit`. On PostgreSQL an event becomes
 * readable once no older transaction is still open anywhere on the server (another test's, say):
 * the reader reads on until it has `expected` events, for at most ten seconds of real time.
 */
const readAll = (tenantId: string, expected: number, options: { limit?: number; type?: string } = {}) =>
  Effect.gen(function* () {
    const seen: Array<WireEvent> = []
    let after: string | undefined
    const deadline = Date.now() + 10_000
    for (;;) {
      const page = yield* Events.list(tenantId, { after, limit: options.limit ?? 100, type: options.type })
      seen.push(...page.events)
      after = page.next
      if (page.events.length > 0) continue
      if (seen.length >= expected || Date.now() > deadline) return seen
      yield* Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 20)))
    }
  })

const types = (events: ReadonlyArray<WireEvent>) => events.map((e) => e.type)

export const eventsSuite = (name: string, makeStorage: () => StorageLayer) =>
  describe(`events on ${name}`, () => {
    const test = <A, E>(title: string, body: () => Effect.Effect<A, E, Provided>, policies: Partial<PolicySettings> = {}) =>
      it.effect(title, () =>
        Effect.gen(function* () {
          yield* TestClock.setTime(start)
          return yield* body()
        }).pipe(Effect.provide(services(makeStorage(), { sendLimit: 100, ...policies })))
      )
    const asActor = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.locally(effect, Events.currentActor, "token-public-id")

    test("each operation writes its events, with the caller's token as actor, and none holds a secret", () =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        const secrets: Array<string> = ["alice@example.com", "bob@example.com", adminToken]
        yield* asActor(Effect.gen(function* () {
          yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
          yield* Users.update(tenantId, "alice", { email: "bob@example.com" })
          yield* Users.update(tenantId, "alice", { email: "alice@example.com" })
          yield* Tenants.update(tenantId, { callbackUrl: "https://app.example.com/login/{}" })
          const principal = { tenantId, tokenId: "token-public-id", tokenName: "t", permissions: ["READ", "WRITE", "ADMIN"] as const }
          const created = yield* Tokens.create({ ...principal, permissions: [...principal.permissions] }, { tokenName: "ci" })
          secrets.push(created.tokenKey)
          const listed = yield* Tokens.list({ ...principal, permissions: [...principal.permissions] })
          const createdId = listed.data.find((t) => t.tokenName === "ci")!.tokenKey
          yield* Tokens.revoke({ ...principal, permissions: [...principal.permissions] }, createdId)

          yield* MagicLink.send(tenantId, "alice")
          const mail = yield* lastMail("alice@example.com")
          secrets.push(mail.token, mail.code ?? "no-code")
          yield* MagicLink.verify(tenantId, mail.token)
          yield* Effect.either(MagicLink.verify(tenantId, mail.token))
          yield* Effect.either(MagicLink.verify(tenantId, "not a token"))

          const secretKey = (yield* Totp.enable(tenantId, "alice")).secretKey
          secrets.push(secretKey)
          const secret = base32Decode(secretKey)!
          const right = totpAt(secret, yield* now)
          const wrong = right.replace(/^./, (d) => String((Number(d) + 1) % 10))
          yield* Effect.either(Totp.verify(tenantId, "alice", wrong))
          yield* Totp.verify(tenantId, "alice", right)
          yield* Effect.either(Totp.verify(tenantId, "alice", right))
          yield* TestClock.adjust(Duration.millis(step))
          yield* Totp.verify(tenantId, "alice", totpAt(secret, yield* now))

          const codes = (yield* RecoveryCodes.generate(tenantId, "alice")).codes
          secrets.push(...codes, ...codes.map((c) => c.replaceAll("-", "")))
          yield* RecoveryCodes.verify(tenantId, "alice", codes[0]!)
          yield* Effect.either(RecoveryCodes.verify(tenantId, "alice", codes[0]!))

          yield* MagicLink.send(tenantId, "alice")
          const second = yield* lastMail("alice@example.com")
          secrets.push(second.token, second.code!)
          yield* Effect.either(EmailCode.verify(tenantId, "alice", second.code!.replace(/^./, (d) => String((Number(d) + 1) % 10))))
          yield* EmailCode.verify(tenantId, "alice", second.code!)

          const approved = yield* Handoff.start(tenantId, "alice")
          secrets.push(approved.handoffId)
          const third = yield* lastMail("alice@example.com")
          secrets.push(third.token, third.code!)
          yield* Handoff.approve(tenantId, third.token, approved.matchNumber)
          const denied = yield* Handoff.start(tenantId, "alice")
          secrets.push(denied.handoffId)
          const fourth = yield* lastMail("alice@example.com")
          yield* Effect.either(Handoff.approve(tenantId, fourth.token, (denied.matchNumber + 1) % 100))

          yield* Totp.disable(tenantId, "alice")
          yield* Users.remove(tenantId, "alice")
        }))

        const events = yield* readAll(tenantId, 28)
        expect(types(events)).toEqual([
          "user.created",
          "user.updated",
          "user.updated",
          "tenant.updated",
          "token.created",
          "token.revoked",
          "magic_link.sent",
          "magic_link.verified",
          "magic_link.rejected",
          "magic_link.rejected",
          "totp.enrolled",
          "totp.rejected",
          "totp.confirmed",
          "totp.verified",
          "totp.rejected",
          "totp.verified",
          "recovery_codes.generated",
          "recovery_code.used",
          "recovery_code.rejected",
          "magic_link.sent",
          "email_code.rejected",
          "magic_link.verified",
          "magic_link.sent",
          "handoff.approved",
          "magic_link.sent",
          "handoff.denied",
          "totp.disabled",
          "user.deleted"
        ])
        for (const e of events) {
          expect(e.tenantId).toBe(tenantId)
          expect(e.actor).toBe("token-public-id")
          expect(e.id).toMatch(/^evt_[0-9a-z]{26}$/)
          expect(Date.parse(e.occurredAt)).toBeGreaterThanOrEqual(start)
          if (e.type !== "tenant.updated" && !e.type.startsWith("token.") && e.data.reason !== "invalid" && e.data.reason !== "malformed") {
            expect([e.type, e.userId]).toEqual([e.type, "alice"])
          }
        }
        // Ids sort in the order of the log.
        expect(events.map((e) => e.id)).toEqual(events.map((e) => e.id).sort())
        expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
        const text = JSON.stringify(events)
        for (const secret of secrets) expect(text).not.toContain(secret)
        expect(text).not.toContain("@")
        const rejected = events.filter((e) => e.type === "magic_link.rejected").map((e) => e.data.reason)
        expect(rejected).toEqual(["invalid", "malformed"])
      }))

    test("a failed change writes no event", () =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
        const principal = { tenantId, tokenId: "x", tokenName: "t", permissions: ["READ" as const] }
        const failures: Array<boolean> = [
          Either.isLeft(yield* Effect.either(Users.create(tenantId, { userId: "alice", email: "alice@example.com" }))),
          Either.isLeft(yield* Effect.either(Users.update(tenantId, "nobody", { email: "n@example.com" }))),
          Either.isLeft(yield* Effect.either(Users.remove(tenantId, "nobody"))),
          Either.isLeft(yield* Effect.either(Tokens.revoke({ ...principal, permissions: ["ADMIN", "WRITE", "READ"] }, "no-such-token"))),
          Either.isLeft(yield* Effect.either(Tokens.create(principal, { tokenName: "more", permissions: ["ADMIN"] }))),
          Either.isLeft(yield* Effect.either(Totp.enable(tenantId, "nobody"))),
          Either.isLeft(yield* Effect.either(RecoveryCodes.generate(tenantId, "alice")))
        ]
        expect(failures).toEqual(failures.map(() => true))
        // Over the send limit: nothing is sent, no event.
        for (let i = 0; i < 3; i++) yield* MagicLink.send(tenantId, "alice")
        const throttled = yield* Effect.either(MagicLink.send(tenantId, "alice"))
        expect(Either.isLeft(throttled) && throttled.left._tag).toBe("TooManyRequests")
        expect(types(yield* readAll(tenantId, 4))).toEqual(["user.created", "magic_link.sent", "magic_link.sent", "magic_link.sent"])
      }), { sendLimit: 3 })

    test("a reader following next reads every event once, type filters, and a bad cursor is refused", () =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        const other = yield* setupTenant("Other")
        for (let i = 0; i < 7; i++) yield* Users.create(tenantId, { userId: `u${i}` })
        yield* Users.create(other, { userId: "elsewhere" })
        for (let i = 0; i < 3; i++) yield* Users.remove(tenantId, `u${i}`)
        const paged = yield* readAll(tenantId, 10, { limit: 3 })
        expect(paged.map((e) => `${e.type} ${e.userId}`)).toEqual([
          ...Array.from({ length: 7 }, (_, i) => `user.created u${i}`),
          ...Array.from({ length: 3 }, (_, i) => `user.deleted u${i}`)
        ])
        expect(types(yield* readAll(tenantId, 3, { type: "user.deleted" }))).toEqual(["user.deleted", "user.deleted", "user.deleted"])
        expect(types(yield* readAll(other, 1))).toEqual(["user.created"])
        // Reading on from the end: nothing new, and the same position.
        const end = yield* Events.list(tenantId, {})
        const after = yield* Events.list(tenantId, { after: (yield* Events.list(tenantId, { after: end.next })).next })
        expect(after.events).toEqual([])
        yield* Users.create(tenantId, { userId: "late" })
        expect(types(yield* readAll(tenantId, 11)).length).toBe(11)
        for (const bad of ["nope!", "MTox", Buffer.from("1:evt_x").toString("base64url")]) {
          const refused = yield* Effect.either(Events.list(tenantId, { after: bad }))
          expect(Either.isLeft(refused) && refused.left._tag).toBe("InvalidPayload")
          expect(Either.isLeft(refused) && refused.left.message).not.toContain(bad)
        }
      }))

    test("events are purged after their retention", () =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId: "old" })
        yield* TestClock.adjust(Duration.days(20))
        yield* Users.create(tenantId, { userId: "new" })
        yield* TestClock.adjust(Duration.days(11))
        yield* purgeExpired
        expect((yield* readAll(tenantId, 1)).map((e) => e.userId)).toEqual(["new"])
      }))
  })
