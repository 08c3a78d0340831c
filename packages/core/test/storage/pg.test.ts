/**
 * What only PostgreSQL shared by several replicas can show: migrations run by replicas starting at
 * once, and two pools (two "replicas") racing on the same link, TOTP code, failure counter, send
 * throttle, outbox and token revocation. Each rule must hold because the database enforces it.
 */
import { expect, it } from "@effect/vitest"
import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Duration, Effect, Either, Layer, Redacted, TestClock } from "effect"
import * as Pg from "pg"
import { layerPolicies, Policies } from "../../src/domain/policies.js"
import { type Keyring, layerSealer, Sealer } from "../../src/crypto/Sealer.js"
import { base32Decode, totpAt } from "../../src/crypto/otp.js"
import * as Access from "../../src/operations/Access.js"
import * as Keys from "../../src/operations/Keys.js"
import * as MagicLink from "../../src/operations/MagicLink.js"
import * as Tokens from "../../src/operations/Tokens.js"
import * as Totp from "../../src/operations/Totp.js"
import * as Users from "../../src/operations/Users.js"
import { layerSecureRandom, SecureRandom } from "../../src/crypto/SecureRandom.js"
import { makePgStorage, migrate, migrations } from "../../src/storage/pg/index.js"
import { Storage, type StorageService } from "../../src/storage/Storage.js"
import { adminToken, lastToken, setupTenant, testKeyring, totpState } from "../behaviour/harness.js"
import { createDatabase, describePostgres, type TestDatabase } from "../support/postgres.js"

const start = Date.UTC(2026, 0, 1)

const queryOn = async <R extends Record<string, unknown>>(url: string, text: string) => {
  const client = new Pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(text)).rows
  } finally {
    await client.end()
  }
}

const freshDatabase = Effect.acquireRelease(Effect.promise(createDatabase), (db) => Effect.promise(db.drop))

const tagOf = <A, E extends { readonly _tag: string }>(e: Either.Either<A, E>) =>
  Either.isRight(e) ? "ok" : e.left._tag

describePostgres("PostgreSQL shared by replicas", (db) => {
  it.scoped("migrations: 4 replicas starting at once all succeed and apply each version once; a restart applies none", () =>
    Effect.gen(function* () {
      const fresh = yield* freshDatabase
      yield* Effect.scoped(
        Effect.gen(function* () {
          const replicas = yield* Effect.all(
            Array.from({ length: 4 }, () => makePgStorage({ url: fresh.url })),
            { concurrency: "unbounded" }
          )
          expect(replicas).toHaveLength(4)
          yield* replicas[0]!.insertTenant({ tenantId: "t1", name: "Acme", callbackUrl: "", createdAt: 1 })
        })
      )
      const applied = yield* Effect.promise(() =>
        queryOn<{ version: number; name: string }>(fresh.url, "SELECT version, name FROM lagrello_migrations ORDER BY version")
      )
      expect(applied).toEqual(migrations.map((m) => ({ version: m.version, name: m.name })))

      // Started again: nothing to apply, and the data is still there.
      const found = yield* Effect.scoped(Effect.flatMap(makePgStorage({ url: fresh.url }), (s) => s.findTenantByName("Acme")))
      expect(found._tag).toBe("Some")
      expect(
        yield* Effect.promise(() => queryOn<{ n: string }>(fresh.url, "SELECT count(*) AS n FROM lagrello_migrations"))
      ).toEqual([{ n: String(migrations.length) }])

      // `migrate` itself, from 4 clients at once on another fresh database: one applies, three wait and find nothing.
      const other = yield* freshDatabase
      const counts = yield* Effect.scoped(
        Effect.all(
          Array.from({ length: 4 }, () =>
            Effect.flatMap(PgClient.make({ url: Redacted.make(other.url), maxConnections: 1 }), migrate)
          ),
          { concurrency: "unbounded" }
        )
      ).pipe(Effect.provide(Reactivity.layer), Effect.orDie)
      expect([...counts].sort()).toEqual([0, 0, 0, migrations.length])
    })
  )

  it.scoped("version 2 on a version 1 database: rows of deleted users dropped, deleted users' links kept as hashes, older queued messages superseded, foreign keys added", () =>
    Effect.gen(function* () {
      const fresh = yield* freshDatabase
      const run = (text: string) => Effect.promise(() => queryOn(fresh.url, text))
      yield* run(`CREATE TABLE lagrello_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL);
        ${migrations[0]!.sql}
        INSERT INTO lagrello_migrations VALUES (1, 'initial', 0);
        INSERT INTO tenants VALUES ('t', 'Acme', 'https://app.example.com/login/{}', 0);
        INSERT INTO users VALUES ('t', 'alice', 'alice@example.com', 0);
        INSERT INTO user_totp (tenant_id, user_id, pending_secret) VALUES ('t', 'ghost', 'sealed-ghost');
        INSERT INTO user_totp (tenant_id, user_id, confirmed_secret, pending_secret, failures) VALUES ('t', 'alice', 'c', 'p', 3);
        INSERT INTO magic_links VALUES ('live', 't', 'alice', 0, 9999999999999, NULL, NULL);
        INSERT INTO magic_links VALUES ('of-ghost', 't', 'ghost', 0, 9999999999999, NULL, 'user-deleted');
        INSERT INTO outbox (id, tenant_id, user_id, sealed, created_at, expires_at, next_attempt_at) VALUES
          ('m1', 't', 'alice', 's', 1, 9999999999999, 1), ('m2', 't', 'alice', 's', 2, 9999999999999, 2),
          ('g1', 't', 'ghost', 's', 1, 9999999999999, 1);`)
      const storage = yield* makePgStorage({ url: fresh.url })
      expect(yield* run("SELECT max(version) AS v FROM lagrello_migrations")).toEqual([{ v: migrations.length }])
      expect(
        yield* run("SELECT user_id, pending_since IS NOT NULL AS since, failures, lockouts FROM user_totp")
      ).toEqual([{ user_id: "alice", since: true, failures: 3, lockouts: 0 }])
      expect(yield* run("SELECT id, seq::int AS seq, status FROM outbox ORDER BY seq")).toEqual([
        { id: "m1", seq: 1, status: "superseded" },
        { id: "m2", seq: 2, status: "pending" }
      ])
      expect(yield* run("SELECT token_hash FROM magic_links")).toEqual([{ token_hash: "live" }])
      expect(yield* storage.consumeMagicLink("t", "of-ghost", 1)).toEqual({ _tag: "UserDeleted" })
      const foreignKeys = yield* run(`SELECT conrelid::regclass::text AS "table", confdeltype AS on_delete FROM pg_constraint
        WHERE contype = 'f' AND confrelid = 'users'::regclass ORDER BY 1`)
      expect(foreignKeys).toEqual([
        // Version 3's tables (recovery codes, handoffs) go with their user too.
        { table: "handoffs", on_delete: "c" },
        { table: "magic_links", on_delete: "c" },
        { table: "outbox", on_delete: "c" },
        { table: "recovery_codes", on_delete: "c" },
        { table: "user_totp", on_delete: "c" }
      ])
      // A replica still on version 1 writes messages without seq during a rolling upgrade.
      yield* run(`INSERT INTO outbox (id, tenant_id, user_id, sealed, created_at, expires_at, next_attempt_at)
        VALUES ('m3', 't', 'alice', 's', 3, 9999999999999, 3)`)
      expect(yield* run("SELECT seq::int AS seq FROM outbox WHERE id = 'm3'")).toEqual([{ seq: 3 }])
      // Deleted by any statement: its TOTP state, links and messages go with it.
      yield* run("DELETE FROM users WHERE user_id = 'alice'")
      expect(
        yield* run(`SELECT (SELECT count(*) FROM user_totp)::int AS totp, (SELECT count(*) FROM magic_links)::int AS links,
          (SELECT count(*) FROM outbox)::int AS messages`)
      ).toEqual([{ totp: 0, links: 0, messages: 0 }])
    })
  )

  it.scoped("the key check: replicas starting at once with the same keys write it once and all pass; one with another key fails", () =>
    Effect.gen(function* () {
      const fresh = yield* freshDatabase
      const start = (keyring: Keyring) =>
        Effect.flatMap(makePgStorage({ url: fresh.url }), (storage) =>
          Keys.verifyKeyring.pipe(Effect.provideService(Storage, storage), Effect.provide(layerSealer(keyring)))
        )
      yield* Effect.all(Array.from({ length: 4 }, () => start(testKeyring)), { concurrency: "unbounded" })
      expect(yield* Effect.promise(() => queryOn(fresh.url, "SELECT count(*)::int AS n FROM keyring_check"))).toEqual([{ n: 1 }])
      const error = yield* Effect.flip(start({ activeKeyId: "k9", keys: { k9: new Uint8Array(32).fill(9) } }))
      expect(error).toMatchObject({ _tag: "KeyMismatch", sealedKeyId: "test", keyringHasId: false, activeKeyId: "k9" })
    })
  )

  racingReplicas(db)
})

/** The racing tests, on the file's database: replica A is the provided Storage, replica B another pool. */
function racingReplicas(db: TestDatabase) {
  const base = Layer.mergeAll(layerSealer(testKeyring), layerSecureRandom, layerPolicies({ totpFailureLimit: 1000 }))

  /** Runs `body` with replica A as the Storage and replica B given, on emptied tables. */
  const replicas = <A, E>(
    body: (b: StorageService) => Effect.Effect<A, E, Storage | Sealer | SecureRandom | Policies>
  ) =>
    Effect.gen(function* () {
      const a = yield* makePgStorage({ url: db.url })
      const b = yield* makePgStorage({ url: db.url })
      yield* Effect.promise(() => db.truncate())
      yield* TestClock.setTime(start)
      return yield* body(b).pipe(Effect.provideService(Storage, a))
    }).pipe(Effect.provide(base))

  const onB = (b: StorageService) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, Storage, b)

  it.scoped("50 concurrent exchanges of one link spread over both replicas give exactly one success, over 20 rounds", () =>
    replicas((b) =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
        for (let round = 0; round < 20; round++) {
          yield* (round % 2 === 0 ? MagicLink.send(tenantId, "alice") : onB(b)(MagicLink.send(tenantId, "alice")))
          yield* TestClock.adjust("2 minutes")
          const token = yield* lastToken("alice@example.com")
          const results = yield* Effect.all(
            Array.from({ length: 50 }, (_, i) =>
              Effect.either(i % 2 === 0 ? MagicLink.verify(tenantId, token) : onB(b)(MagicLink.verify(tenantId, token)))
            ),
            { concurrency: "unbounded" }
          )
          expect(results.map(tagOf).filter((t) => t === "ok"), `round ${round}`).toHaveLength(1)
          expect(results.map(tagOf).filter((t) => t === "Unauthorized"), `round ${round}`).toHaveLength(49)
        }
      })
    )
  )

  it.scoped("the same TOTP code sent to both replicas at once is accepted once; 200 wrong codes over both are all counted", () =>
    replicas((b) =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
        const secret = base32Decode((yield* Totp.enable(tenantId, "alice")).secretKey)!
        for (let round = 0; round < 10; round++) {
          yield* TestClock.adjust(Duration.seconds(30))
          const code = totpAt(secret, yield* Effect.clockWith((c) => c.currentTimeMillis))
          const results = yield* Effect.all(
            Array.from({ length: 20 }, (_, i) =>
              Effect.either(i % 2 === 0 ? Totp.verify(tenantId, "alice", code) : onB(b)(Totp.verify(tenantId, "alice", code)))
            ),
            { concurrency: "unbounded" }
          )
          expect(results.map(tagOf).filter((t) => t === "ok"), `round ${round}`).toHaveLength(1)
          expect(results.map(tagOf).filter((t) => t === "Unauthorized"), `round ${round}`).toHaveLength(19)
        }

        // Another user, with no failure yet: 200 wrong codes over both replicas, all counted.
        yield* Users.create(tenantId, { userId: "bob", email: "bob@example.com" })
        const bobs = base32Decode((yield* Totp.enable(tenantId, "bob")).secretKey)!
        const right = totpAt(bobs, yield* Effect.clockWith((c) => c.currentTimeMillis))
        const wrong = right === "000000" ? "111111" : "000000"
        const results = yield* Effect.all(
          Array.from({ length: 200 }, (_, i) =>
            Effect.either(i % 2 === 0 ? Totp.verify(tenantId, "bob", wrong) : onB(b)(Totp.verify(tenantId, "bob", wrong)))
          ),
          { concurrency: "unbounded" }
        )
        expect(results.every((r) => tagOf(r) === "Unauthorized")).toBe(true)
        const state = yield* b.getTotp(tenantId, "bob")
        expect(state._tag === "Some" && state.value.failures).toBe(200)
      })
    )
  )

  it.scoped("the failure limit holds across replicas: of 200 concurrent wrong codes over both, exactly 10 are compared", () =>
    replicas((b) =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
        yield* Totp.enable(tenantId, "alice")
        const results = yield* Effect.all(
          Array.from({ length: 200 }, (_, i) =>
            Effect.either(i % 2 === 0 ? Totp.verify(tenantId, "alice", "000000") : onB(b)(Totp.verify(tenantId, "alice", "000000")))
          ),
          { concurrency: "unbounded" }
        )
        expect(results.map(tagOf).filter((t) => t === "Unauthorized")).toHaveLength(10)
        expect(results.map(tagOf).filter((t) => t === "TooManyRequests")).toHaveLength(190)
      }).pipe(Effect.provide(layerPolicies()))
    )
  )

  it.scoped("N sends over both replicas give N messages, the throttle holds across them, and workers on both never claim one twice", () =>
    replicas((b) =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        const users = Array.from({ length: 40 }, (_, i) => `user${i}`)
        for (const userId of [...users, "hot"]) yield* Users.create(tenantId, { userId, email: `${userId}@example.com` })

        const sends = yield* Effect.all(
          users.map((userId, i) => Effect.either(i % 2 === 0 ? MagicLink.send(tenantId, userId) : onB(b)(MagicLink.send(tenantId, userId)))),
          { concurrency: "unbounded" }
        )
        expect(sends.every(Either.isRight)).toBe(true)
        // 20 concurrent sends to one user over both replicas: the default limit of 5 holds.
        const hot = yield* Effect.all(
          Array.from({ length: 20 }, (_, i) =>
            Effect.either(i % 2 === 0 ? MagicLink.send(tenantId, "hot") : onB(b)(MagicLink.send(tenantId, "hot")))
          ),
          { concurrency: "unbounded" }
        )
        expect(hot.map(tagOf).filter((t) => t === "ok")).toHaveLength(5)
        expect(hot.map(tagOf).filter((t) => t === "TooManyRequests")).toHaveLength(15)
        // Exactly one of the hot user's links is still usable: each send revoked the earlier ones.
        const live = yield* Effect.promise(() =>
          db.query("SELECT count(*) AS n FROM magic_links WHERE user_id = 'hot' AND revoked IS NULL AND consumed_at IS NULL")
        )
        expect(live).toEqual([{ n: "1" }])

        const a = yield* Storage
        const messages = yield* a.listOutbox(1000)
        expect(messages).toHaveLength(45)
        // The hot user's 4 older messages hold revoked links: superseded, never claimed.
        expect(messages.filter((m) => m.status === "superseded").map((m) => m.userId)).toEqual(["hot", "hot", "hot", "hot"])
        // Four workers on each replica claim in small batches until nothing is due.
        const claimed: Array<string> = []
        const worker = (s: StorageService) =>
          Effect.gen(function* () {
            for (;;) {
              const batch = yield* s.claimOutbox(start + 1000, 60_000, 3)
              if (batch.length === 0) return
              for (const m of batch) {
                expect(m.attempts).toBe(1)
                claimed.push(m.id)
              }
            }
          })
        yield* Effect.all([a, a, a, a, b, b, b, b].map(worker), { concurrency: "unbounded" })
        expect(claimed).toHaveLength(41)
        expect(new Set(claimed).size).toBe(41)
        // Leased: not due again until the lease ends.
        expect(yield* b.claimOutbox(start + 2000, 60_000, 100)).toHaveLength(0)
        expect(yield* a.claimOutbox(start + 61_001, 60_000, 100)).toHaveLength(41)
      })
    )
  )

  it.scoped("enabling TOTP on one replica while the other deletes the user never leaves a secret for a user re-created with that id", () =>
    replicas((b) =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
        for (let round = 0; round < 60; round++) {
          const enable = Effect.either(Totp.enable(tenantId, "alice"))
          const remove = onB(b)(Users.remove(tenantId, "alice"))
          const enabled =
            round % 2 === 0
              ? (yield* Effect.all([enable, remove], { concurrency: "unbounded" }))[0]
              : (yield* Effect.all([remove, enable], { concurrency: "unbounded" }))[1]
          yield* onB(b)(Users.create(tenantId, { userId: "alice", email: "alice@example.com" }))
          expect(yield* totpState(tenantId, "alice"), `round ${round}`).toBeUndefined()
          if (Either.isRight(enabled)) {
            const code = totpAt(base32Decode(enabled.right.secretKey)!, yield* Effect.clockWith((c) => c.currentTimeMillis))
            expect(tagOf(yield* Effect.either(onB(b)(Totp.verify(tenantId, "alice", code)))), `round ${round}`).toBe("Unauthorized")
          }
        }
      })
    )
  )

  it.scoped("a burst of sends to one user over both replicas leaves one message to deliver, holding the live link", () =>
    replicas((b) =>
      Effect.gen(function* () {
        const tenantId = yield* setupTenant()
        yield* Users.create(tenantId, { userId: "alice", email: "alice@example.com" })
        // As many as the default throttle allows.
        const sends = yield* Effect.all(
          Array.from({ length: 5 }, (_, i) => Effect.either(i % 2 === 0 ? MagicLink.send(tenantId, "alice") : onB(b)(MagicLink.send(tenantId, "alice")))),
          { concurrency: "unbounded" }
        )
        expect(sends.every(Either.isRight)).toBe(true)
        const a = yield* Storage
        const messages = yield* a.listOutbox(100)
        expect(messages.filter((m) => m.status === "pending")).toHaveLength(1)
        expect(messages.filter((m) => m.status === "superseded")).toHaveLength(4)
        const [claimed, ...others] = yield* b.claimOutbox(start + 1_000, 30_000, 100)
        expect(others).toHaveLength(0)
        expect(claimed?.id).toBe(messages.find((m) => m.status === "pending")?.id)
        // The one left holds the live link (the newest message in the mailbox, since the
        // claim-order is the write order).
        expect(tagOf(yield* Effect.either(MagicLink.verify(tenantId, yield* lastToken("alice@example.com"))))).toBe("ok")
      })
    )
  )

  it.scoped("a token revoked on one replica is refused by the other on the next request", () =>
    replicas((b) =>
      Effect.gen(function* () {
        yield* setupTenant()
        const admin = yield* Access.authenticate(`${adminToken}-Acme`)
        const created = yield* Tokens.create(admin, { tokenName: "ci", permissions: ["WRITE"] })
        const principal = yield* onB(b)(Access.authenticate(created.tokenKey))
        yield* Tokens.revoke(admin, principal.tokenId)
        expect(tagOf(yield* Effect.either(onB(b)(Access.authenticate(created.tokenKey))))).toBe("Forbidden")
      })
    )
  )
}
