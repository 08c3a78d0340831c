/**
 * What only a SQLite file can show: what is on disk, migrations on reopen, and two connections
 * to one file racing on the same link and the same TOTP counter.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, TestClock } from "effect"
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Database from "better-sqlite3"
import { layerPolicies } from "../../src/domain/policies.js"
import { base32Decode, totpAt } from "../../src/crypto/otp.js"
import { layerSealer } from "../../src/crypto/Sealer.js"
import * as Access from "../../src/operations/Access.js"
import * as Keys from "../../src/operations/Keys.js"
import * as MagicLink from "../../src/operations/MagicLink.js"
import * as Tokens from "../../src/operations/Tokens.js"
import * as Totp from "../../src/operations/Totp.js"
import * as Users from "../../src/operations/Users.js"
import { layerSecureRandom } from "../../src/crypto/SecureRandom.js"
import { layerSqlite, makeSqliteStorage, migrations } from "../../src/storage/sqlite/index.js"
import { Storage } from "../../src/storage/Storage.js"
import { adminToken, lastToken, setupTenant, testKeyring, totpState } from "../behaviour/harness.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "lagrello-sqlite-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const servicesOn = (filename: string) =>
  Layer.mergeAll(layerSqlite({ filename }), layerSealer(testKeyring), layerSecureRandom, layerPolicies())

describe("SQLite file", () => {
  it.scoped("holds no magic-link token, TOTP secret, access token or e-mail body in clear", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const filename = join(dir, "lagrello.db")
      const secrets = yield* Effect.gen(function* () {
        yield* TestClock.setTime(Date.UTC(2026, 0, 1))
        const tenantId = yield* setupTenant()
        const admin = yield* Access.authenticate(`${adminToken}-Acme`)
        const created = yield* Tokens.create(admin, { tokenName: "ci", permissions: ["WRITE"] })
        yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
        yield* MagicLink.send(tenantId, "alice")
        const link = yield* lastToken("alice@example.com")
        const { secretKey } = yield* Totp.enable(tenantId, "alice")
        return [`${adminToken}-Acme`, created.tokenKey, link, secretKey, "Use this link to sign in"]
      }).pipe(Effect.provide(servicesOn(filename)))
      // The layer is closed: the WAL is checkpointed into the file. Read every file SQLite wrote.
      const bytes = ["", "-wal", "-shm"]
        .map((suffix) => filename + suffix)
        .filter(existsSync)
        .map((f) => readFileSync(f).toString("latin1"))
        .join("")
      expect(bytes.length).toBeGreaterThan(4096)
      expect(bytes).toContain("alice@example.com") // the user's address is data, not a secret
      for (const secret of secrets) expect(bytes.includes(secret), `found ${secret.slice(0, 8)}...`).toBe(false)
    }))

  it.scoped("migrations run once and reopening a file keeps its data", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const filename = join(dir, "lagrello.db")
      yield* Effect.scoped(
        Effect.flatMap(makeSqliteStorage({ filename }), (s) =>
          s.insertTenant({ tenantId: "t1", name: "Acme", callbackUrl: "", createdAt: 1 })
        )
      )
      const reopened = yield* Effect.scoped(
        Effect.flatMap(makeSqliteStorage({ filename }), (s) => s.findTenantByName("Acme"))
      )
      expect(reopened._tag).toBe("Some")
      const db = new Database(filename, { readonly: true })
      const applied = db.prepare("SELECT version FROM lagrello_migrations ORDER BY version").all()
      expect(applied).toEqual(migrations.map((m) => ({ version: m.version })))
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal")
      db.close()
    }))

  it.scoped("two connections to one file: 50 concurrent exchanges of a link give exactly one success", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const filename = join(dir, "lagrello.db")
      const other = yield* makeSqliteStorage({ filename })
      const base = Layer.mergeAll(layerSealer(testKeyring), layerSecureRandom, layerPolicies())
      yield* Effect.gen(function* () {
        yield* TestClock.setTime(Date.UTC(2026, 0, 1))
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
        for (let round = 0; round < 10; round++) {
          yield* MagicLink.send(tenantId, "alice")
          yield* TestClock.adjust("2 minutes")
          const token = yield* lastToken("alice@example.com")
          const attempts = Array.from({ length: 50 }, (_, i) =>
            Effect.either(
              i % 2 === 0
                ? MagicLink.verify(tenantId, token)
                : MagicLink.verify(tenantId, token).pipe(Effect.provideService(Storage, other))
            )
          )
          const results = yield* Effect.all(attempts, { concurrency: "unbounded" })
          expect(results.filter(Either.isRight)).toHaveLength(1)
        }
      }).pipe(Effect.provide(Layer.merge(layerSqlite({ filename }), base)))
    }))

  it.scoped("the database answers Unavailable (not a crash) when the file cannot be opened", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      // A path below a regular file can never be created.
      writeFileSync(join(dir, "file"), "")
      const error = yield* Effect.flip(Effect.scoped(makeSqliteStorage({ filename: join(dir, "file", "x.db") })))
      expect(error._tag).toBe("Unavailable")
    }))

  it.scoped("the database file and its -wal and -shm are created readable by their owner only (0600)", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const filename = join(dir, "data", "lagrello.db")
      const modes = yield* Effect.scoped(
        Effect.gen(function* () {
          const storage = yield* makeSqliteStorage({ filename })
          yield* storage.insertTenant({ tenantId: "t1", name: "Acme", callbackUrl: "", createdAt: 1 })
          // While open, in WAL mode, all three exist.
          return ["", "-wal", "-shm"].map((suffix) => [suffix, statSync(filename + suffix).mode & 0o777] as const)
        })
      )
      expect(modes).toEqual([
        ["", 0o600],
        ["-wal", 0o600],
        ["-shm", 0o600]
      ])
      // A file that exists keeps the mode its operator gave it.
      chmodSync(filename, 0o640)
      yield* Effect.scoped(makeSqliteStorage({ filename }))
      expect(statSync(filename).mode & 0o777).toBe(0o640)
    }))

  it.scoped("version 2 on a version 1 file: rows of deleted users dropped, deleted users' links kept as hashes, older queued messages superseded, foreign keys added", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const filename = join(dir, "lagrello.db")
      const v1 = new Database(filename)
      v1.exec(`CREATE TABLE lagrello_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`)
      v1.exec(migrations[0]!.sql)
      v1.prepare("INSERT INTO lagrello_migrations VALUES (1, 'initial', 0)").run()
      v1.exec(`
        INSERT INTO tenants VALUES ('t', 'Acme', 'https://app.example.com/login/{}', 0);
        INSERT INTO users VALUES ('t', 'alice', 'alice@example.com', 0);
        -- Left behind by the race: a secret and a message of a user that no longer exists.
        INSERT INTO user_totp (tenant_id, user_id, pending_secret) VALUES ('t', 'ghost', 'sealed-ghost');
        INSERT INTO user_totp (tenant_id, user_id, confirmed_secret, pending_secret, failures) VALUES ('t', 'alice', 'c', 'p', 3);
        INSERT INTO magic_links VALUES ('live', 't', 'alice', 0, 9999999999999, NULL, NULL);
        INSERT INTO magic_links VALUES ('of-ghost', 't', 'ghost', 0, 9999999999999, NULL, 'user-deleted');
        INSERT INTO outbox (id, tenant_id, user_id, sealed, created_at, expires_at, next_attempt_at) VALUES
          ('m1', 't', 'alice', 's', 1, 9999999999999, 1), ('m2', 't', 'alice', 's', 2, 9999999999999, 2),
          ('g1', 't', 'ghost', 's', 1, 9999999999999, 1);
      `)
      v1.close()

      const storage = yield* makeSqliteStorage({ filename })
      const db = new Database(filename, { readonly: true })
      yield* Effect.addFinalizer(() => Effect.sync(() => db.close()))
      expect(db.prepare("SELECT max(version) AS v FROM lagrello_migrations").get()).toEqual({ v: migrations.length })
      expect(db.prepare("SELECT user_id, pending_since IS NOT NULL AS since, failures, lockouts FROM user_totp").all()).toEqual([
        { user_id: "alice", since: 1, failures: 3, lockouts: 0 }
      ])
      expect(db.prepare("SELECT id, seq, status FROM outbox ORDER BY seq").all()).toEqual([
        { id: "m1", seq: 1, status: "superseded" },
        { id: "m2", seq: 2, status: "pending" }
      ])
      expect(db.prepare("SELECT token_hash FROM magic_links").all()).toEqual([{ token_hash: "live" }])
      expect(yield* storage.consumeMagicLink("t", "of-ghost", 1)).toEqual({ _tag: "UserDeleted" })
      for (const table of ["magic_links", "user_totp", "outbox"]) {
        expect(db.prepare(`SELECT "table", on_delete FROM pragma_foreign_key_list('${table}')`).all(), table).toEqual([
          { table: "users", on_delete: "CASCADE" },
          { table: "users", on_delete: "CASCADE" }
        ])
      }
      expect(db.pragma("foreign_key_check")).toEqual([])
    }))

  it.scoped("a user deleted by any statement takes its TOTP state, links and messages (ON DELETE CASCADE)", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const filename = join(dir, "lagrello.db")
      yield* Effect.gen(function* () {
        yield* TestClock.setTime(Date.UTC(2026, 0, 1))
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
        yield* MagicLink.send(tenantId, "alice")
        yield* Totp.enable(tenantId, "alice")
      }).pipe(Effect.provide(servicesOn(filename)))
      const db = new Database(filename)
      db.pragma("foreign_keys = ON")
      db.prepare("DELETE FROM users WHERE user_id = 'alice'").run()
      const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
      expect([count("user_totp"), count("magic_links"), count("outbox")]).toEqual([0, 0, 0])
      db.close()
    }))

  it.scoped("restarted with another key, the key check stops the start; with the keys it was used with, it starts", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const filename = join(dir, "lagrello.db")
      const start = (keyring: typeof testKeyring) =>
        Effect.scoped(
          Effect.flatMap(makeSqliteStorage({ filename }), (storage) =>
            Keys.verifyKeyring.pipe(Effect.provideService(Storage, storage), Effect.provide(layerSealer(keyring)))
          )
        )
      yield* start(testKeyring)
      const other = { activeKeyId: "test", keys: { test: new Uint8Array(32).fill(8) } }
      const error = yield* Effect.flip(start(other))
      expect(error._tag).toBe("KeyMismatch")
      expect(error.message).toContain('"test"')
      yield* start(testKeyring)
    }))

  it.scoped("two connections to one file: enabling TOTP on one while the other deletes the user never leaves a secret behind", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const filename = join(dir, "lagrello.db")
      const other = yield* makeSqliteStorage({ filename })
      const base = Layer.mergeAll(layerSealer(testKeyring), layerSecureRandom, layerPolicies({ totpFailureLimit: 1000 }))
      yield* Effect.gen(function* () {
        yield* TestClock.setTime(Date.UTC(2026, 0, 1))
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
        for (let round = 0; round < 50; round++) {
          const remove = Users.remove(tenantId, "alice").pipe(Effect.provideService(Storage, other))
          const enable = Effect.either(Totp.enable(tenantId, "alice"))
          const [, enabled] = yield* Effect.all([remove, enable], { concurrency: "unbounded" })
          yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
          expect(yield* totpState(tenantId, "alice"), `round ${round}`).toBeUndefined()
          if (Either.isRight(enabled)) {
            const code = totpAt(base32Decode(enabled.right.secretKey)!, Date.UTC(2026, 0, 1))
            expect(Either.isLeft(yield* Effect.either(Totp.verify(tenantId, "alice", code))), `round ${round}`).toBe(true)
          }
        }
      }).pipe(Effect.provide(Layer.merge(layerSqlite({ filename }), base)))
    }))
})
