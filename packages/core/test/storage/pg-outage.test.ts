/**
 * PostgreSQL that is down, slow or cut off: every storage step answers `Unavailable` within
 * seconds (never hangs), nothing is retried, and the pool recovers by itself when the database
 * returns. A TCP proxy between the storage and the server plays the network: it forwards, cuts
 * every connection, or stops forwarding (packets dropped).
 */
import { expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber } from "effect"
import { randomBytes } from "node:crypto"
import { createServer, type Server, type Socket } from "node:net"
import { makePgStorage, type PgStorageOptions } from "../../src/storage/pg/index.js"
import type { StorageService } from "../../src/storage/Storage.js"
import { adminUrl, describePostgres, type TestDatabase } from "../support/postgres.js"
import { startProxy } from "../support/proxy.js"

const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)))

/** A TCP proxy to the test server (support/proxy.ts), closed with the test's scope. */
const makeProxy = Effect.acquireRelease(
  Effect.promise(() => {
    const target = new URL(adminUrl)
    return startProxy({ host: target.hostname, port: Number(target.port || 5432) })
  }),
  (proxy) => Effect.promise(proxy.close)
)

/** The URL of the test database through the proxy. */
const viaProxy = (db: TestDatabase, port: number) => {
  const url = new URL(db.url)
  url.hostname = "127.0.0.1"
  url.port = String(port)
  return url.toString()
}

const elapsedOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const started = Date.now()
    const result = yield* Effect.either(effect)
    return { result, millis: Date.now() - started }
  })

const tagOf = <A, E extends { readonly _tag: string }>(e: Either.Either<A, E>) =>
  Either.isRight(e) ? "ok" : e.left._tag

/** Polls `check` (real time) until it holds, for at most `millis`. */
const eventually = (check: () => Promise<boolean>, millis = 5000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + millis
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error("condition not reached in time")
      await new Promise((r) => setTimeout(r, 50))
    }
  })

const seed = (s: StorageService, tokenHash = "hash-1") =>
  Effect.gen(function* () {
    yield* s.insertTenant({ tenantId: "t1", name: "Acme", callbackUrl: "https://x/{}", createdAt: 1 })
    yield* s.insertUser("t1", { userId: "alice", email: "alice@example.com" }, 1)
    const now = Date.UTC(2026, 0, 1)
    yield* s.issueMagicLink({
      tenantId: "t1",
      userId: "alice",
      email: "alice@example.com",
      tokenHash,
      now,
      expiresAt: now + 600_000,
      limit: 5,
      windowMillis: 600_000,
      message: { id: `m-${tokenHash}`, sealed: "sealed" }
    })
    return now
  })

describePostgres("PostgreSQL unavailable", (db) => {
  it.scopedLive("a closed port fails the start with Unavailable within a few seconds, without the password", () =>
    Effect.gen(function* () {
      const { millis, result } = yield* elapsedOf(
        Effect.scoped(makePgStorage({ url: "postgres://postgres:s3cret@127.0.0.1:1/lagrello" }))
      )
      expect(millis).toBeLessThan(3000)
      expect(Either.isLeft(result) && result.left._tag).toBe("Unavailable")
      const message = Either.isLeft(result) ? result.left.message : ""
      expect(message).toContain("127.0.0.1:1/lagrello")
      expect(message).not.toContain("s3cret")
    }))

  it.scopedLive("a server that never answers fails the start with Unavailable after the connect timeout", () =>
    Effect.gen(function* () {
      const silent = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const sockets = new Set<Socket>()
          const server = createServer((s) => void sockets.add(s))
          return { server, sockets, port: await listen(server) }
        }),
        ({ server, sockets }) =>
          Effect.promise(() => {
            for (const s of sockets) s.destroy()
            return new Promise<void>((resolve) => server.close(() => resolve()))
          })
      )
      const { millis, result } = yield* elapsedOf(
        Effect.scoped(makePgStorage({ url: `postgres://postgres@127.0.0.1:${silent.port}/x`, connectTimeoutMillis: 500 }))
      )
      expect(Either.isLeft(result) && result.left._tag).toBe("Unavailable")
      expect(millis).toBeGreaterThanOrEqual(400)
      expect(millis).toBeLessThan(3000)
    }))

  const outageOptions = (port: number, extra: Partial<PgStorageOptions> = {}): PgStorageOptions => ({
    url: viaProxy(db, port),
    connectTimeoutMillis: 1000,
    statementTimeoutMillis: 300,
    applicationName: `lagrello-outage-${randomBytes(4).toString("hex")}`,
    ...extra
  })

  it.scopedLive("cut connections answer Unavailable at once, and the pool recovers by itself when they are restored", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => db.truncate())
      const proxy = yield* makeProxy
      const storage = yield* makePgStorage(outageOptions(proxy.port))
      const now = yield* seed(storage)

      proxy.cut()
      const read = yield* elapsedOf(storage.getTenant("t1"))
      expect(tagOf(read.result)).toBe("Unavailable")
      expect(read.millis).toBeLessThan(2000)
      const consume = yield* elapsedOf(storage.consumeMagicLink("t1", "hash-1", now + 1))
      expect(tagOf(consume.result)).toBe("Unavailable")
      expect(consume.millis).toBeLessThan(2000)

      proxy.restore()
      expect((yield* storage.getTenant("t1"))._tag).toBe("Some")
      expect(yield* storage.consumeMagicLink("t1", "hash-1", now + 2)).toEqual({ _tag: "Consumed", userId: "alice" })
    }))

  it.scopedLive("a network that drops packets: Unavailable after the read timeout, pool exhaustion too, and stuck connections are dropped", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => db.truncate())
      const proxy = yield* makeProxy
      const options = outageOptions(proxy.port, { maxConnections: 2 })
      const storage = yield* makePgStorage(options)
      yield* seed(storage)
      // Two connections in the pool, each known by its server process.
      yield* Effect.all([storage.getTenant("t1"), storage.getTenant("t1")], { concurrency: 2 })
      const backends = () =>
        db
          .query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [options.applicationName])
          .then((rows) => rows.map((r) => r.pid))
      const before = yield* Effect.promise(backends)
      expect(before.length).toBeGreaterThan(0)

      proxy.pause()
      // Two statements take both connections and wait for answers that never come; the third
      // waits for a free connection.
      const { millis, result } = yield* elapsedOf(
        Effect.all(
          [storage.getTenant("t1"), storage.getTenant("t1"), Effect.delay(storage.getTenant("t1"), "50 millis")].map(
            (e) => Effect.flip(e)
          ),
          { concurrency: "unbounded" }
        )
      )
      expect(Either.isRight(result) && result.right.map((e) => e._tag)).toEqual(["Unavailable", "Unavailable", "Unavailable"])
      // The read timeout is the statement timeout (300 ms) plus 2 s.
      expect(millis).toBeGreaterThanOrEqual(2000)
      expect(millis).toBeLessThan(4000)

      proxy.restore()
      expect((yield* storage.getTenant("t1"))._tag).toBe("Some")
      // The connections that timed out were closed, not reused: their server processes are gone.
      yield* eventually(async () => (await backends()).every((pid) => !before.includes(pid)))
    }))

  it.scopedLive("a transaction cut in the middle answers Unavailable (its failed ROLLBACK is not a defect) and writes nothing", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => db.truncate())
      const proxy = yield* makeProxy
      const options = outageOptions(proxy.port, { statementTimeoutMillis: 5000 })
      const storage = yield* makePgStorage(options)
      const now = yield* seed(storage)
      const locker = yield* Effect.acquireRelease(Effect.promise(db.connect), (c) => Effect.promise(() => c.end()))
      yield* Effect.promise(() => locker.query("BEGIN"))
      yield* Effect.promise(() => locker.query("SELECT * FROM users WHERE user_id = 'alice' FOR UPDATE"))
      const send = yield* Effect.fork(
        elapsedOf(
          storage.issueMagicLink({
            tenantId: "t1",
            userId: "alice",
            email: "alice@example.com",
            tokenHash: "hash-2",
            now: now + 1000,
            expiresAt: now + 601_000,
            limit: 5,
            windowMillis: 600_000,
            message: { id: "m-hash-2", sealed: "sealed" }
          })
        )
      )
      yield* eventually(async () =>
        (
          await db.query(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
            [options.applicationName]
          )
        ).length === 1
      )
      proxy.cut()
      const { millis, result } = yield* Fiber.join(send)
      expect(tagOf(result)).toBe("Unavailable")
      expect(millis).toBeLessThan(2000)
      yield* Effect.promise(() => locker.query("COMMIT"))
      // The server rolls the orphaned transaction back when it finds its client gone.
      yield* eventually(async () =>
        (await db.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1", [options.applicationName]))
          .length === 0
      )
      expect(yield* Effect.promise(() => db.query("SELECT token_hash FROM magic_links"))).toEqual([{ token_hash: "hash-1" }])
      expect(yield* Effect.promise(() => db.query("SELECT id FROM outbox"))).toEqual([{ id: "m-hash-1" }])
    }))

  it.scopedLive("a statement blocked past the statement timeout answers Unavailable and changes nothing", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => db.truncate())
      const storage = yield* makePgStorage({ url: db.url, statementTimeoutMillis: 300 })
      const now = yield* seed(storage)
      const locker = yield* Effect.acquireRelease(Effect.promise(db.connect), (c) => Effect.promise(() => c.end()))
      yield* Effect.promise(() => locker.query("BEGIN"))
      yield* Effect.promise(() => locker.query("SELECT * FROM users WHERE user_id = 'alice' FOR UPDATE"))
      const send = yield* elapsedOf(
        storage.issueMagicLink({
          tenantId: "t1",
          userId: "alice",
          email: "alice@example.com",
          tokenHash: "hash-2",
          now: now + 1000,
          expiresAt: now + 601_000,
          limit: 5,
          windowMillis: 600_000,
          message: { id: "m-hash-2", sealed: "sealed" }
        })
      )
      yield* Effect.promise(() => locker.query("ROLLBACK"))
      expect(tagOf(send.result)).toBe("Unavailable")
      expect(send.millis).toBeLessThan(2000)
      expect(yield* Effect.promise(() => db.query("SELECT token_hash FROM magic_links ORDER BY token_hash"))).toEqual([
        { token_hash: "hash-1" }
      ])
      // The earlier link was not revoked by the failed send.
      expect(yield* storage.consumeMagicLink("t1", "hash-1", now + 2000)).toEqual({ _tag: "Consumed", userId: "alice" })
    }))

  it.scopedLive("a consume whose outcome is unknown answers Unavailable, is not retried, and the link stays single-use", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => db.truncate())
      const proxy = yield* makeProxy
      const options = outageOptions(proxy.port, { statementTimeoutMillis: 5000 })
      const storage = yield* makePgStorage(options)
      const now = yield* seed(storage)

      // Hold the link's row so that the consume is on the wire, inside the server, when the
      // connection is cut.
      const locker = yield* Effect.acquireRelease(Effect.promise(db.connect), (c) => Effect.promise(() => c.end()))
      yield* Effect.promise(() => locker.query("BEGIN"))
      yield* Effect.promise(() => locker.query("SELECT * FROM magic_links WHERE token_hash = 'hash-1' FOR UPDATE"))
      const consume = yield* Effect.fork(elapsedOf(storage.consumeMagicLink("t1", "hash-1", now + 1)))
      yield* eventually(async () =>
        (
          await db.query(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
            [options.applicationName]
          )
        ).length === 1
      )
      proxy.cut()
      const { millis, result } = yield* Fiber.join(consume)
      expect(tagOf(result)).toBe("Unavailable")
      expect(millis).toBeLessThan(2000)

      // The server still runs the statement once the lock is released, and commits it: the
      // outcome the client could not learn. The link is consumed, once.
      yield* Effect.promise(() => locker.query("COMMIT"))
      yield* eventually(async () =>
        (await db.query("SELECT 1 FROM magic_links WHERE token_hash = 'hash-1' AND consumed_at IS NOT NULL")).length === 1
      )
      proxy.restore()
      expect(yield* storage.consumeMagicLink("t1", "hash-1", now + 2)).toEqual({ _tag: "Invalid" })
      const exit = yield* Effect.exit(storage.getTenant("t1"))
      expect(Exit.isSuccess(exit)).toBe(true)
    }))
})
