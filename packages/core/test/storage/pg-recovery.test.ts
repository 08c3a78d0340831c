/**
 * SPEC 5 on PostgreSQL shared by replicas: two pools (two "replicas") racing on a recovery code
 * and the e-mail code, a handoff decided on one waking a long poll waiting on the other, the rows
 * holding no recovery code, e-mail code or handoff id in clear, and version 3 on a version 2
 * database.
 */
import { expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, Layer, Option, TestClock } from "effect"
import * as Pg from "pg"
import { layerPolicies } from "../../src/domain/policies.js"
import { base32Decode, totpAt } from "../../src/crypto/otp.js"
import { layerSealer } from "../../src/crypto/Sealer.js"
import { layerSecureRandom } from "../../src/crypto/SecureRandom.js"
import * as EmailCode from "../../src/operations/EmailCode.js"
import * as Handoff from "../../src/operations/Handoff.js"
import * as MagicLink from "../../src/operations/MagicLink.js"
import * as RecoveryCodes from "../../src/operations/RecoveryCodes.js"
import * as Totp from "../../src/operations/Totp.js"
import * as Users from "../../src/operations/Users.js"
import { makePgStorage, migrations } from "../../src/storage/pg/index.js"
import { Storage, type StorageService } from "../../src/storage/Storage.js"
import { setupTenant, testKeyring } from "../behaviour/harness.js"
import { lastMail } from "../behaviour/recovery-suite.js"
import { createDatabase, describePostgres } from "../support/postgres.js"
import { answeredWithinPolls } from "./replica-wait.js"

const start = Date.UTC(2026, 0, 1)

const tagOf = <A, E extends { readonly _tag: string }>(e: Either.Either<A, E>) => (Either.isRight(e) ? "ok" : e.left._tag)

const base = Layer.mergeAll(layerSealer(testKeyring), layerSecureRandom, layerPolicies({ totpFailureLimit: 1000 }))

describePostgres("SPEC 5 on PostgreSQL shared by replicas", (db) => {
  /** Runs `body` with replica A as the Storage and replica B given, on emptied tables. */
  const replicas = <A, E>(body: (b: StorageService) => Effect.Effect<A, E, Layer.Layer.Success<typeof base> | Storage>) =>
    Effect.gen(function* () {
      const a = yield* makePgStorage({ url: db.url })
      const b = yield* makePgStorage({ url: db.url })
      yield* Effect.promise(() => db.truncate())
      yield* TestClock.setTime(start)
      return yield* body(b).pipe(Effect.provideService(Storage, a))
    }).pipe(Effect.provide(base))

  const onB = (b: StorageService) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, Storage, b)

  const withTotpAndCodes = Effect.gen(function* () {
    const tenantId = yield* setupTenant()
    yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
    const secret = base32Decode((yield* Totp.enable(tenantId, "alice")).secretKey)!
    yield* Totp.verify(tenantId, "alice", totpAt(secret, start))
    const { codes } = yield* RecoveryCodes.generate(tenantId, "alice")
    return { tenantId, codes }
  })

  it.scoped("of 20 concurrent uses of one recovery code over both replicas exactly one succeeds, for every code", () =>
    replicas((b) =>
      Effect.gen(function* () {
        const { codes, tenantId } = yield* withTotpAndCodes
        for (const code of codes) {
          const results = yield* Effect.all(
            Array.from({ length: 20 }, (_, i) =>
              Effect.either(i % 2 === 0 ? RecoveryCodes.verify(tenantId, "alice", code) : onB(b)(RecoveryCodes.verify(tenantId, "alice", code)))
            ),
            { concurrency: "unbounded" }
          )
          expect(results.map(tagOf).filter((t) => t === "ok")).toHaveLength(1)
          expect(results.map(tagOf).filter((t) => t === "Unauthorized")).toHaveLength(19)
        }
        // A new set generated on one replica while the other uses codes of the old one: every use
        // of an old code after the new set is refused.
        const fresh = yield* onB(b)(RecoveryCodes.generate(tenantId, "alice"))
        expect((yield* RecoveryCodes.status(tenantId, "alice")).remaining).toBe(10)
        expect(tagOf(yield* Effect.either(RecoveryCodes.verify(tenantId, "alice", codes[0]!)))).toBe("Unauthorized")
        expect(tagOf(yield* Effect.either(RecoveryCodes.verify(tenantId, "alice", fresh.codes[0]!)))).toBe("ok")
      })
    )
  )

  it.scoped("turning TOTP off on one replica while the other writes a new set never leaves codes behind", () =>
    replicas((b) =>
      Effect.gen(function* () {
        const { tenantId } = yield* withTotpAndCodes
        for (let round = 0; round < 20; round++) {
          const [generated] = yield* Effect.all(
            [Effect.either(RecoveryCodes.generate(tenantId, "alice")), onB(b)(Totp.disable(tenantId, "alice"))],
            { concurrency: "unbounded" }
          )
          expect(["ok", "InvalidPayload"]).toContain(tagOf(generated))
          expect(yield* RecoveryCodes.status(tenantId, "alice"), `round ${round}`).toEqual({ remaining: 0 })
          // On again for the next round.
          yield* TestClock.adjust(Duration.seconds(30))
          const secret = base32Decode((yield* Totp.enable(tenantId, "alice")).secretKey)!
          yield* Totp.verify(tenantId, "alice", totpAt(secret, yield* Effect.clockWith((c) => c.currentTimeMillis)))
          yield* RecoveryCodes.generate(tenantId, "alice")
        }
      })
    )
  )

  it.scoped("of 20 concurrent tries of the e-mail code over both replicas, a right one succeeds once and wrong ones count five", () =>
    replicas((b) =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
        for (let round = 0; round < 5; round++) {
          yield* TestClock.adjust(Duration.minutes(3))
          yield* (round % 2 === 0 ? MagicLink.send(tenantId, "alice") : onB(b)(MagicLink.send(tenantId, "alice")))
          const { code } = yield* lastMail("alice@example.com")
          const typed = round % 2 === 0 ? code! : code!.replace(/^./, (d) => String((Number(d) + 1) % 10))
          const results = yield* Effect.all(
            Array.from({ length: 20 }, (_, i) =>
              Effect.either(i % 2 === 0 ? EmailCode.verify(tenantId, "alice", typed) : onB(b)(EmailCode.verify(tenantId, "alice", typed)))
            ),
            { concurrency: "unbounded" }
          )
          const messages = results.map((r) => (Either.isRight(r) ? "ok" : r.left.message))
          if (round % 2 === 0) {
            expect(messages.filter((m) => m === "ok"), `round ${round}`).toHaveLength(1)
          } else {
            expect(messages.filter((m) => m === "The code is wrong"), `round ${round}`).toHaveLength(4)
            expect(messages.filter((m) => m.includes("no longer work")), `round ${round}`).toHaveLength(1)
            expect(tagOf(yield* Effect.either(EmailCode.verify(tenantId, "alice", code!))), `round ${round}`).toBe("Unauthorized")
          }
        }
      })
    )
  )

  it.scoped("a handoff decided on one replica wakes a long poll waiting on the other within its poll interval", () =>
    replicas((b) =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
        for (const approve of [true, false, true]) {
          const handoff = yield* Handoff.start(tenantId, "alice")
          const { token } = yield* lastMail("alice@example.com")
          const { choices } = yield* Handoff.choices(tenantId, token)
          const waiting = yield* Effect.fork(onB(b)(Handoff.status(tenantId, handoff.handoffId, 30)))
          yield* TestClock.adjust(Duration.seconds(2))
          expect(yield* Fiber.poll(waiting)).toEqual(Option.none())
          yield* Effect.either(Handoff.approve(tenantId, token, approve ? handoff.matchNumber : choices.find((n) => n !== handoff.matchNumber)!))
          const { answer, testMillis } = yield* answeredWithinPolls(waiting)
          expect(answer.status).toBe(approve ? "approved" : "denied")
          // The spec asks for less than a second.
          expect(testMillis).toBeLessThan(1000)
          yield* TestClock.adjust(Duration.minutes(3))
        }
      })
    )
  )

  it.scoped("the rows hold no recovery code, e-mail code or handoff id in clear", () =>
    replicas(() =>
      Effect.gen(function* () {
        const { codes, tenantId } = yield* withTotpAndCodes
        yield* MagicLink.send(tenantId, "alice")
        const { code } = yield* lastMail("alice@example.com")
        yield* Users.create(tenantId, { userId: "bob", email: "bob@example.com" })
        const { handoffId } = yield* Handoff.start(tenantId, "bob")
        // Every text value of every row of every table (numbers are times and counters).
        const values = yield* Effect.promise(async () => {
          const tables = await db.query<{ name: string }>(
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
          )
          const texts: Array<string> = []
          for (const { name } of tables) {
            for (const row of await db.query(`SELECT * FROM ${Pg.escapeIdentifier(name)}`)) {
              for (const value of Object.values(row)) if (typeof value === "string") texts.push(value)
            }
          }
          return texts
        })
        expect(values).toContain("bob@example.com")
        const all = values.join("\n")
        for (const c of codes) for (const form of [c, c.replaceAll("-", "")]) expect(all.includes(form)).toBe(false)
        expect(all.includes(code!)).toBe(false)
        expect(all.includes(handoffId)).toBe(false)
      })
    )
  )

  it.scoped("version 3 on a version 2 database: earlier links still sign in, with no code and no handoff", () =>
    Effect.gen(function* () {
      const fresh = yield* Effect.acquireRelease(Effect.promise(createDatabase), (d) => Effect.promise(d.drop))
      yield* Effect.promise(async () => {
        const client = new Pg.Client({ connectionString: fresh.url })
        await client.connect()
        try {
          await client.query("CREATE TABLE lagrello_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)")
          for (const m of migrations.filter((m) => m.version <= 2)) {
            await client.query(m.sql)
            await client.query("INSERT INTO lagrello_migrations VALUES ($1, $2, 0)", [m.version, m.name])
          }
          await client.query(`
            INSERT INTO tenants VALUES ('t', 'Acme', 'https://app.example.com/login/{}', 0);
            INSERT INTO users VALUES ('t', 'alice', 'alice@example.com', 0);
            INSERT INTO magic_links (token_hash, tenant_id, user_id, created_at, expires_at) VALUES ('live', 't', 'alice', 0, 9999999999999);`)
        } finally {
          await client.end()
        }
      })
      const storage = yield* makePgStorage({ url: fresh.url })
      expect(yield* storage.findEmailCode("t", "alice", 1)).toEqual(Option.none())
      expect(yield* storage.consumeMagicLink("t", "live", 1)).toEqual({ _tag: "Consumed", userId: "alice" })
      const rows = yield* Effect.promise(async () => {
        const client = new Pg.Client({ connectionString: fresh.url })
        await client.connect()
        try {
          return (await client.query("SELECT code_hash, code_failures, handoff FROM magic_links")).rows
        } finally {
          await client.end()
        }
      })
      expect(rows).toEqual([{ code_hash: null, code_failures: 0, handoff: false }])
    })
  )
})
