/**
 * The group commit of the SQLite storage (src/storage/sqlite/GroupCommit.ts): concurrent writes
 * share one transaction, yet each is atomic on its own, and none is answered before its commit.
 */
import { describe, expect, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { Effect, Either, Exit, Fiber } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makeGroupCommit } from "../../src/storage/sqlite/GroupCommit.js"

class Refused {
  readonly _tag = "Refused"
  constructor(readonly cause: unknown) {}
}

const database = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = mkdtempSync(join(tmpdir(), "lagrello-group-"))
    const db = new Database(join(dir, "test.db"))
    db.pragma("journal_mode = WAL")
    db.pragma("foreign_keys = ON")
    db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
      CREATE TABLE item (id INTEGER PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0),
        parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`)
    // A second connection sees only what was committed.
    const reader = new Database(join(dir, "test.db"), { readonly: true })
    return { db, dir, reader }
  }),
  ({ db, dir, reader }) =>
    Effect.sync(() => {
      reader.close()
      db.close()
      rmSync(dir, { recursive: true, force: true })
    })
)

const count = (reader: Database.Database) => (reader.prepare("SELECT count(*) AS n FROM item").get() as { n: number }).n

describe("SQLite group commit", () => {
  it.scoped("commits concurrent writes together, rolling back only the one that failed", () =>
    Effect.gen(function* () {
      const { db, reader } = yield* database
      const write = makeGroupCommit(db, (cause) => Effect.fail(new Refused(cause)))
      const insert = db.prepare("INSERT INTO item (id, n) VALUES (?, ?)")
      const results = yield* Effect.all(
        Array.from({ length: 50 }, (_, i) =>
          Effect.either(
            write(() => {
              insert.run(i, 1)
              // The second statement of write 7 fails: its first must not survive.
              insert.run(i + 1000, i === 7 ? -1 : 1)
              return i
            })
          )
        ),
        { concurrency: "unbounded" }
      )
      expect(results.filter(Either.isLeft).length).toBe(1)
      expect(Either.isLeft(results[7]!)).toBe(true)
      expect(count(reader)).toBe(98)
      expect(reader.prepare("SELECT count(*) AS n FROM item WHERE id IN (7, 1007)").get()).toEqual({ n: 0 })
    }))

  it.scoped("runs the writes of a group in order, each seeing the ones before it", () =>
    Effect.gen(function* () {
      const { db } = yield* database
      const write = makeGroupCommit(db, (cause) => Effect.fail(new Refused(cause)))
      db.exec("INSERT INTO item (id, n) VALUES (1, 0)")
      const bump = db.prepare<[], { n: number }>("UPDATE item SET n = n + 1 WHERE id = 1 RETURNING n")
      const seen = yield* Effect.all(Array.from({ length: 20 }, () => write(() => bump.get()!.n)), { concurrency: "unbounded" })
      expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    }))

  it.scoped("fails every write of a group whose commit fails, and keeps none of them", () =>
    Effect.gen(function* () {
      const { db, reader } = yield* database
      const write = makeGroupCommit(db, (cause) => Effect.fail(new Refused(cause)))
      const insert = db.prepare("INSERT INTO item (id, n, parent) VALUES (?, 1, ?)")
      // A deferred foreign key is checked at COMMIT: write 3 makes the whole commit fail.
      const results = yield* Effect.all(
        Array.from({ length: 5 }, (_, i) => Effect.either(write(() => insert.run(i, i === 3 ? 99 : null)))),
        { concurrency: "unbounded" }
      )
      expect(results.every(Either.isLeft)).toBe(true)
      expect(count(reader)).toBe(0)
      // The connection is usable afterwards.
      yield* write(() => insert.run(10, null))
      expect(count(reader)).toBe(1)
    }))

  it.scoped("answers a write only once it is committed, and never runs one interrupted before its group", () =>
    Effect.gen(function* () {
      const { db, reader } = yield* database
      const write = makeGroupCommit(db, (cause) => Effect.fail(new Refused(cause)))
      const insert = db.prepare("INSERT INTO item (id, n) VALUES (?, 1)")
      const kept = yield* Effect.fork(write(() => insert.run(1)))
      const dropped = yield* Effect.fork(write(() => insert.run(2)))
      yield* Fiber.interrupt(dropped)
      expect(count(reader)).toBe(0)
      expect(Exit.isSuccess(yield* Fiber.await(kept))).toBe(true)
      expect(reader.prepare("SELECT id FROM item").all()).toEqual([{ id: 1 }])
    }))
})
