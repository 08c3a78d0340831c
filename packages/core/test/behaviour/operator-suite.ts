/**
 * The operator's storage steps (key rotation, export/import, the outbox), written once and run on
 * every storage layer, through the operations the CLI calls.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, type Layer, Option, TestClock } from "effect"
import { base32Decode, totpAt } from "../../src/crypto/otp.js"
import { type Keyring, makeSealer, Sealer } from "../../src/crypto/Sealer.js"
import { openOutboxMessage } from "../../src/mail/OutboxMessage.js"
import * as KeyRotation from "../../src/operations/KeyRotation.js"
import * as Keys from "../../src/operations/Keys.js"
import * as MagicLink from "../../src/operations/MagicLink.js"
import * as OutboxAdmin from "../../src/operations/OutboxAdmin.js"
import * as RecoveryCodes from "../../src/operations/RecoveryCodes.js"
import * as Totp from "../../src/operations/Totp.js"
import * as Users from "../../src/operations/Users.js"
import * as UserTransfer from "../../src/operations/UserTransfer.js"
import * as Webhooks from "../../src/operations/Webhooks.js"
import { layerPolicies } from "../../src/domain/policies.js"
import { Storage } from "../../src/storage/Storage.js"
import { services, setupTenant, type StorageLayer, testKeyring } from "./harness.js"

const start = Date.UTC(2026, 0, 1)
type Provided = Layer.Layer.Success<ReturnType<typeof services>>

const newKey = new Uint8Array(32).fill(9)
/** The rotated keyring: the new key first, the suite's key after it. */
const rotated: Keyring = { activeKeyId: "new", keys: { new: newKey, test: testKeyring.keys.test } }
const onlyNew: Keyring = { activeKeyId: "new", keys: { new: newKey } }
const withKeys = (keyring: Keyring) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.orDie(makeSealer(keyring)), (sealer) => Effect.provideService(effect, Sealer, sealer))

const count = (status: KeyRotation.KeyStatus, kind: string, keyId: string) =>
  status.counts.find((c) => c.kind === kind && c.keyId === keyId)?.count ?? 0

export const operatorSuite = (name: string, makeStorage: () => StorageLayer) =>
  describe(`operator steps on ${name}`, () => {
    const test = <A, E>(title: string, body: () => Effect.Effect<A, E, Provided>) =>
      it.effect(title, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(start)
          return yield* body()
        }).pipe(Effect.provide(services(makeStorage()))))

    /** alice with a confirmed secret, bob with a pending one, a queued message to carol. */
    const populate = Effect.gen(function*() {
      yield* Keys.verifyKeyring
      const tenantId = yield* setupTenant()
      yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
      yield* Users.create(tenantId, { userId: "bob", email: "bob@example.com" })
      yield* Users.create(tenantId, { userId: "carol", email: "carol@example.com" })
      const alice = base32Decode((yield* Totp.enable(tenantId, "alice")).secretKey)!
      yield* Totp.verify(tenantId, "alice", totpAt(alice, start))
      const bob = base32Decode((yield* Totp.enable(tenantId, "bob")).secretKey)!
      yield* MagicLink.send(tenantId, "carol")
      return { tenantId, alice, bob }
    })

    test("keys status counts each kind per key id", () =>
      Effect.gen(function*() {
        yield* populate
        const status = yield* KeyRotation.status
        expect(status.activeKeyId).toBe("test")
        expect(status.keyCheckKeyId).toBe("test")
        expect([count(status, "totp-confirmed", "test"), count(status, "totp-pending", "test"), count(status, "outbox", "test")])
          .toEqual([1, 1, 1])
        expect(status.remaining).toBe(0)
        expect((yield* withKeys(rotated)(KeyRotation.status)).remaining).toBe(3)
      }))

    test("keys status counts the users with unused recovery codes per key id (they cannot be re-sealed)", () =>
      Effect.gen(function*() {
        const { tenantId } = yield* populate
        expect((yield* KeyRotation.status).recoveryCodeSets).toEqual([])
        yield* RecoveryCodes.generate(tenantId, "alice")
        expect((yield* KeyRotation.status).recoveryCodeSets).toEqual([{ keyId: "test", users: 1 }])
        // A rotation leaves them under their key.
        const rotatedStatus = (yield* withKeys(rotated)(KeyRotation.rotate())).status
        expect(rotatedStatus.recoveryCodeSets).toEqual([{ keyId: "test", users: 1 }])
        expect(rotatedStatus.remaining).toBe(0)
      }))

    test("rotation re-seals everything, then the new key alone opens it all", () =>
      Effect.gen(function*() {
        const { alice, bob, tenantId } = yield* populate
        const result = yield* withKeys(rotated)(KeyRotation.rotate({ batchSize: 1 }))
        expect(result).toMatchObject({ resealed: 3, changed: 0, unreadable: 0, stopped: false, keyCheckResealed: true })
        expect(result.status.keyCheckKeyId).toBe("new")
        expect(result.status.counts.every((c) => c.keyId === "new")).toBe(true)
        // A second run has nothing left to do.
        expect((yield* withKeys(rotated)(KeyRotation.rotate())).resealed).toBe(0)
        yield* withKeys(onlyNew)(Keys.verifyKeyring)
        yield* TestClock.setTime(start + 60_000)
        expect(yield* withKeys(onlyNew)(Totp.verify(tenantId, "alice", totpAt(alice, start + 60_000))))
          .toMatchObject({ userId: "alice" })
        // The pending enrolment, confirmed under the new key alone.
        expect(yield* withKeys(onlyNew)(Totp.verify(tenantId, "bob", totpAt(bob, start + 60_000))))
          .toMatchObject({ userId: "bob" })
        const [message] = yield* Effect.flatMap(Storage, (s) => s.listOutbox(1))
        expect((yield* withKeys(onlyNew)(openOutboxMessage(message!))).to).toBe("carol@example.com")
      }))

    test("rotation re-seals webhooks' signing secrets, the current and the previous one", () =>
      Effect.gen(function*() {
        const { tenantId } = yield* populate
        const created = yield* Webhooks.create(tenantId, { url: "http://127.0.0.1:9/hook", events: ["*"] }).pipe(
          Effect.provide(layerPolicies({ webhookAllowPrivate: true }))
        )
        const rotatedSecret = yield* Webhooks.rotateSecret(tenantId, created.id)
        const before = yield* KeyRotation.status
        expect([count(before, "webhook-secret", "test"), count(before, "webhook-previous-secret", "test")]).toEqual([1, 1])
        const result = yield* withKeys(rotated)(KeyRotation.rotate({ batchSize: 2 }))
        expect(result).toMatchObject({ resealed: 5, unreadable: 0, keyCheckResealed: true })
        expect(result.status.counts.every((c) => c.keyId === "new")).toBe(true)
        const webhook = Option.getOrThrow(yield* Effect.flatMap(Storage, (s) => s.getWebhook(tenantId, created.id)))
        const context = Webhooks.secretContext(tenantId, created.id)
        const open = (sealed: string) => withKeys(onlyNew)(Effect.flatMap(Sealer, (sealer) => sealer.open(sealed, context)))
        expect(yield* open(webhook.secret)).toBe(rotatedSecret.secret)
        expect(yield* open(webhook.previousSecret!)).toBe(created.secret)
      }))

    test("a rotation stopped part way resumes where it stopped; the old key check stays until the end", () =>
      Effect.gen(function*() {
        yield* populate
        const first = yield* withKeys(rotated)(KeyRotation.rotate({ limit: 1 }))
        expect(first).toMatchObject({ resealed: 1, stopped: true, keyCheckResealed: false })
        expect(first.status.remaining).toBe(2)
        expect(first.status.keyCheckKeyId).toBe("test")
        expect(Either.isLeft(yield* Effect.either(withKeys(onlyNew)(Keys.verifyKeyring)))).toBe(true)
        const second = yield* withKeys(rotated)(KeyRotation.rotate())
        expect(second).toMatchObject({ resealed: 2, keyCheckResealed: true })
        yield* withKeys(onlyNew)(Keys.verifyKeyring)
      }))

    test("a re-seal is a compare-and-set: a value changed meanwhile is left as it is", () =>
      Effect.gen(function*() {
        const { tenantId } = yield* populate
        const storage = yield* Storage
        const [value] = yield* storage.listSealed("totp-confirmed", { exceptKeyId: "new", after: undefined, limit: 10 })
        expect(value?.ref).toMatchObject({ tenantId, userId: "alice" })
        // A server re-enrols alice meanwhile: its write wins.
        const replaced = yield* storage.resealValues([
          { kind: "totp-confirmed", ref: value!.ref, previous: "v1.test.stale.value", next: "v1.new.x.y" }
        ])
        expect(replaced).toBe(0)
        const totp = Option.getOrThrow(yield* storage.getTotp(tenantId, "alice"))
        expect(totp.confirmedSecret).toBe(value!.sealed)
        // Keyset paging: after alice's ref, bob's is next among the pending ones.
        const after = yield* storage.listSealed("totp-confirmed", { exceptKeyId: "new", after: value!.ref, limit: 10 })
        expect(after).toEqual([])
      }))

    test("a value that does not open is counted as unreadable and the key check stays", () =>
      Effect.gen(function*() {
        const { tenantId } = yield* populate
        const storage = yield* Storage
        const [value] = yield* storage.listSealed("totp-confirmed", { exceptKeyId: "new", after: undefined, limit: 1 })
        // Bound to another user: it does not authenticate for alice.
        const forged = yield* Effect.flatMap(Sealer, (s) => s.seal("JBSWY3DPEHPK3PXP", `totp/${tenantId}/mallory`))
        expect(yield* storage.resealValues([{ kind: "totp-confirmed", ref: value!.ref, previous: value!.sealed, next: forged }]))
          .toBe(1)
        const result = yield* withKeys(rotated)(KeyRotation.rotate())
        expect(result).toMatchObject({ resealed: 2, unreadable: 1, keyCheckResealed: false })
        expect(result.status.remaining).toBe(1)
      }))

    test("export, then import into another tenant: the users are there and their codes verify", () =>
      Effect.gen(function*() {
        const { alice, tenantId } = yield* populate
        const lines: Array<string> = []
        const exported = yield* UserTransfer.exportUsers(tenantId, (batch) => Effect.sync(() => lines.push(...batch)), {
          batchSize: 2
        })
        expect(exported).toBe(3)
        expect(lines.map((l) => JSON.parse(l).userId)).toEqual(["alice", "bob", "carol"])
        expect(lines.join("\n")).not.toContain("JBSW")
        const target = yield* setupTenant("Other")
        const outcomes = yield* Effect.forEach(lines, (line, i) =>
          withKeys(rotated)(UserTransfer.importLine(target, line, i + 1)))
        expect(outcomes).toEqual(["imported", "imported", "imported"])
        expect(yield* withKeys(rotated)(UserTransfer.importLine(target, lines[0]!, 1))).toBe("exists")
        expect(yield* Users.get(target, "alice")).toEqual({ userId: "alice", email: "alice@example.com" })
        // Re-sealed under the importing keyring's active key, bound to the new tenant.
        yield* TestClock.setTime(start + 60_000)
        expect(yield* withKeys(onlyNew)(Totp.verify(target, "alice", totpAt(alice, start + 60_000))))
          .toMatchObject({ userId: "alice" })
        // The step accepted before the export is not accepted again after it.
        expect(Either.isLeft(yield* Effect.either(withKeys(onlyNew)(Totp.verify(target, "alice", totpAt(alice, start))))))
          .toBe(true)
      }))

    test("an import line that is not a user names the line and never quotes it", () =>
      Effect.gen(function*() {
        const tenantId = yield* setupTenant()
        const secret = "not-json-with-a-secret-inside"
        const outcome = yield* UserTransfer.importLine(tenantId, secret, 7)
        expect(outcome).toMatchObject({ line: 7 })
        expect(JSON.stringify(outcome)).not.toContain(secret)
        const badEmail = yield* UserTransfer.importLine(
          tenantId,
          JSON.stringify({ lagrelloUser: 1, tenantId, userId: "x", email: "not-an-address", createdAt: 1 }),
          8
        )
        expect(badEmail).toEqual({ line: 8, message: "line 8 is not a user of a Lagrello export (field email)" })
        const foreign = yield* withKeys(onlyNew)(UserTransfer.importLine(
          tenantId,
          JSON.stringify({ lagrelloUser: 1, tenantId, userId: "y", createdAt: 1, totp: { confirmedSecret: "v1.test.a.b" } }),
          9
        ))
        expect(foreign).toMatchObject({ line: 9 })
        expect(Option.isNone(yield* Effect.flatMap(Storage, (s) => s.getUser(tenantId, "y")))).toBe(true)
      }))

    test("outbox list by status, and retry of a failed message", () =>
      Effect.gen(function*() {
        yield* populate
        const storage = yield* Storage
        const [claimed] = yield* storage.claimOutbox(start, 30_000, 10)
        expect(yield* storage.finishOutbox(claimed!, "failed", "554 rejected")).toBe(true)
        const failed = yield* OutboxAdmin.list({ status: "failed", limit: 10 })
        expect(failed).toEqual([expect.objectContaining({ id: claimed!.id, status: "failed", attempts: 1, keyId: "test" })])
        expect(JSON.stringify(failed)).not.toContain("carol@example.com")
        expect(yield* OutboxAdmin.list({ status: "pending", limit: 10 })).toEqual([])
        expect(yield* OutboxAdmin.retry(["no-such-id"])).toEqual([])
        expect(yield* OutboxAdmin.retry("all")).toEqual([claimed!.id])
        expect(yield* OutboxAdmin.list({ status: "pending", limit: 10 })).toEqual([
          expect.objectContaining({ id: claimed!.id, attempts: 0, lastError: undefined })
        ])
        // Pending now: a second retry changes nothing.
        expect(yield* OutboxAdmin.retry([claimed!.id])).toEqual([])
      }))

    test("tenants are listed oldest first", () =>
      Effect.gen(function*() {
        yield* setupTenant("First")
        yield* TestClock.adjust("1 second")
        yield* setupTenant("Second")
        expect((yield* Effect.flatMap(Storage, (s) => s.listTenants)).map((t) => t.name)).toEqual(["First", "Second"])
      }))
  })
