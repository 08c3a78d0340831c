/**
 * What only a SQLite file can show: what is on disk, migrations on reopen, and two connections
 * to one file racing on the same link and the same TOTP counter.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, TestClock } from "effect"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Database from "better-sqlite3"
import { Policies } from "../../src/domain/policies.js"
import { Sealer } from "../../src/crypto/Sealer.js"
import * as Access from "../../src/operations/Access.js"
import * as MagicLink from "../../src/operations/MagicLink.js"
import * as Tokens from "../../src/operations/Tokens.js"
import * as Totp from "../../src/operations/Totp.js"
import * as Users from "../../src/operations/Users.js"
import { SecureRandom } from "../../src/services/SecureRandom.js"
import { layerSqlite, makeSqliteStorage, migrations } from "../../src/storage/sqlite/index.js"
import { Storage } from "../../src/storage/Storage.js"
import { adminToken, lastToken, setupTenant, testKeyring } from "../behaviour/harness.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "lagrello-sqlite-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const servicesOn = (filename: string) =>
  Layer.mergeAll(layerSqlite({ filename }), Sealer.layer(testKeyring), SecureRandom.Live, Policies.Default)

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
      const base = Layer.mergeAll(Sealer.layer(testKeyring), SecureRandom.Live, Policies.Default)
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
})
