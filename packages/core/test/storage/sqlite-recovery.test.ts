/**
 * SPEC 5 on a SQLite file: what is on disk (no recovery code, e-mail code or handoff id in clear,
 * in the file or its -wal), two connections to one file (as two processes) racing on a recovery
 * code and the e-mail code, a handoff decided on one connection waking a long poll on the other,
 * and version 3 on a version 2 file.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, Layer, Option, TestClock } from "effect"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Database from "better-sqlite3"
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
import { layerSqlite, makeSqliteStorage, migrations } from "../../src/storage/sqlite/index.js"
import { Storage } from "../../src/storage/Storage.js"
import { setupTenant, testKeyring } from "../behaviour/harness.js"
import { lastMail } from "../behaviour/recovery-suite.js"
import { answeredWithinPolls } from "./replica-wait.js"

const start = Date.UTC(2026, 0, 1)

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "lagrello-sqlite-recovery-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const base = (policies = {}) => Layer.mergeAll(layerSealer(testKeyring), layerSecureRandom, layerPolicies(policies))

const tagOf = <A, E extends { readonly _tag: string }>(e: Either.Either<A, E>) => (Either.isRight(e) ? "ok" : e.left._tag)

/** The bytes of the database file and of its -wal (and -shm), as text. */
const fileBytes = (filename: string) =>
  ["", "-wal", "-shm"]
    .map((suffix) => filename + suffix)
    .filter(existsSync)
    .map((f) => readFileSync(f).toString("latin1"))
    .join("")

/** A user with TOTP on, recovery codes, an e-mail code waiting and a handoff pending. */
const secretsOfSpec5 = Effect.gen(function* () {
  yield* TestClock.setTime(start)
  const tenantId = yield* setupTenant()
  yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
  yield* Users.create(tenantId, { userId: "bob", email: "bob@example.com" })
  const secret = base32Decode((yield* Totp.enable(tenantId, "alice")).secretKey)!
  yield* Totp.verify(tenantId, "alice", totpAt(secret, start))
  const { codes } = yield* RecoveryCodes.generate(tenantId, "alice")
  yield* MagicLink.send(tenantId, "alice")
  const mail = yield* lastMail("alice@example.com")
  const handoff = yield* Handoff.start(tenantId, "bob")
  return { tenantId, codes, emailCode: mail.code!, handoffId: handoff.handoffId }
})

describe("SPEC 5 on a SQLite file", () => {
  it.scoped("holds no recovery code, e-mail code or handoff id in clear, in the file or its -wal", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const filename = join(dir, "lagrello.db")
      const check = (bytes: string, secrets: { codes: ReadonlyArray<string>; emailCode: string; handoffId: string }) => {
        for (const code of secrets.codes) {
          for (const form of [code, code.replaceAll("-", ""), code.toLowerCase()]) expect(bytes.includes(form), `recovery code ${form.slice(0, 4)}...`).toBe(false)
        }
        expect(bytes.includes(secrets.emailCode), "the e-mail code").toBe(false)
        expect(bytes.includes(secrets.handoffId), "the handoff id").toBe(false)
      }
      const secrets = yield* Effect.scoped(
        Effect.gen(function* () {
          const found = yield* secretsOfSpec5
          // While the database is open, the rows are in the -wal (not checkpointed yet).
          expect(existsSync(`${filename}-wal`)).toBe(true)
          const open = fileBytes(filename)
          expect(open).toContain("bob@example.com")
          check(open, found)
          return found
        }).pipe(Effect.provide(Layer.merge(layerSqlite({ filename }), base())))
      )
      // Closed: the -wal is checkpointed into the file.
      const closed = fileBytes(filename)
      expect(closed).toContain("bob@example.com")
      check(closed, secrets)
      const db = new Database(filename, { readonly: true })
      yield* Effect.addFinalizer(() => Effect.sync(() => db.close()))
      expect((db.prepare("SELECT count(*) AS n FROM recovery_codes").get() as { n: number }).n).toBe(10)
      expect((db.prepare("SELECT count(*) AS n FROM handoffs").get() as { n: number }).n).toBe(1)
    }))

  it.scoped("two connections to one file: of 20 concurrent uses of a recovery code, or of an e-mail code, over both, one succeeds", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const filename = join(dir, "lagrello.db")
      const other = yield* makeSqliteStorage({ filename })
      yield* Effect.gen(function* () {
        const { codes, tenantId } = yield* secretsOfSpec5
        const onBoth = <A, E, R>(effect: Effect.Effect<A, E, R>, i: number) =>
          Effect.either(i % 2 === 0 ? effect : Effect.provideService(effect, Storage, other))
        for (const code of codes.slice(0, 3)) {
          const results = yield* Effect.all(
            Array.from({ length: 20 }, (_, i) => onBoth(RecoveryCodes.verify(tenantId, "alice", code), i)),
            { concurrency: "unbounded" }
          )
          expect(results.map(tagOf).filter((t) => t === "ok")).toHaveLength(1)
          expect(results.map(tagOf).filter((t) => t === "Unauthorized")).toHaveLength(19)
        }
        for (let round = 0; round < 3; round++) {
          yield* TestClock.adjust(Duration.minutes(1))
          yield* MagicLink.send(tenantId, "alice")
          const { code } = yield* lastMail("alice@example.com")
          const results = yield* Effect.all(
            Array.from({ length: 20 }, (_, i) => onBoth(EmailCode.verify(tenantId, "alice", code!), i)),
            { concurrency: "unbounded" }
          )
          expect(results.map(tagOf).filter((t) => t === "ok")).toHaveLength(1)
        }
      }).pipe(Effect.provide(Layer.merge(layerSqlite({ filename }), base({ totpFailureLimit: 1000 }))))
    }))

  it.scoped("two connections to one file: a handoff decided on one wakes a long poll waiting on the other at its next poll", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const filename = join(dir, "lagrello.db")
      const other = yield* makeSqliteStorage({ filename })
      yield* Effect.gen(function* () {
        yield* TestClock.setTime(start)
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
        for (const approve of [true, false]) {
          const handoff = yield* Handoff.start(tenantId, "alice")
          const { token } = yield* lastMail("alice@example.com")
          const { choices } = yield* Handoff.choices(tenantId, token)
          const waiting = yield* Effect.fork(Handoff.status(tenantId, handoff.handoffId, 30).pipe(Effect.provideService(Storage, other)))
          yield* TestClock.adjust(Duration.seconds(2))
          expect(yield* Fiber.poll(waiting)).toEqual(Option.none())
          yield* Effect.either(Handoff.approve(tenantId, token, approve ? handoff.matchNumber : choices.find((n) => n !== handoff.matchNumber)!))
          const { answer, testMillis } = yield* answeredWithinPolls(waiting, 1)
          expect(answer.status).toBe(approve ? "approved" : "denied")
          expect(testMillis).toBeLessThanOrEqual(250)
          yield* TestClock.adjust(Duration.minutes(2))
        }
      }).pipe(Effect.provide(Layer.merge(layerSqlite({ filename }), base())))
    }))

  it.scoped("version 3 on a version 2 file: earlier links still sign in, with no code and no handoff; new ones carry both", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const filename = join(dir, "lagrello.db")
      const v2 = new Database(filename)
      v2.exec(`CREATE TABLE lagrello_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`)
      for (const m of migrations.filter((m) => m.version <= 2)) {
        v2.exec(m.sql)
        v2.prepare("INSERT INTO lagrello_migrations VALUES (?, ?, 0)").run(m.version, m.name)
      }
      v2.exec(`
        INSERT INTO tenants VALUES ('t', 'Acme', 'https://app.example.com/login/{}', 0);
        INSERT INTO users VALUES ('t', 'alice', 'alice@example.com', 0);
        INSERT INTO magic_links (token_hash, tenant_id, user_id, created_at, expires_at) VALUES ('live', 't', 'alice', 0, 9999999999999);
      `)
      v2.close()
      const storage = yield* makeSqliteStorage({ filename })
      expect(yield* storage.findEmailCode("t", "alice", 1)).toEqual(Option.none())
      expect(yield* storage.consumeMagicLink("t", "live", 1)).toEqual({ _tag: "Consumed", userId: "alice" })
      const db = new Database(filename, { readonly: true })
      yield* Effect.addFinalizer(() => Effect.sync(() => db.close()))
      expect(db.prepare("SELECT max(version) AS v FROM lagrello_migrations").get()).toEqual({ v: migrations.length })
      expect(db.prepare("SELECT code_hash, code_failures, handoff FROM magic_links").all()).toEqual([
        { code_hash: null, code_failures: 0, handoff: 0 }
      ])
      for (const table of ["recovery_codes", "handoffs"]) {
        expect(db.prepare(`SELECT "table", on_delete FROM pragma_foreign_key_list('${table}')`).all(), table).toContainEqual(
          { table: "users", on_delete: "CASCADE" }
        )
      }
    }))
})
