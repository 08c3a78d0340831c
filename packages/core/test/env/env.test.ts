/**
 * `@lagrello/core/env` as the operator CLI reads it (the server's variables are covered by the
 * demo's config tests, which read them through the same parser).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach } from "vitest"
import * as Env from "../../src/env/index.js"

const dirs: Array<string> = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
const folder = () => {
  const dir = mkdtempSync(join(tmpdir(), "lagrello-env-"))
  dirs.push(dir)
  return dir
}

describe("parseOperator", () => {
  it("reads the database and the keys only: other variables do not matter", () => {
    const parsed = Env.parseOperator({ DATABASE_URL: "sqlite:db/l.db", PORT: "not a port" }, "/srv")
    expect(parsed).toEqual(Either.right({
      database: { kind: "sqlite", path: "/srv/db/l.db" },
      encryptionKey: { kind: "file", path: "/srv/db/lagrello.key" }
    }))
  })

  it("requires the key with PostgreSQL and never repeats a bad key", () => {
    const pg = Env.parseOperator({ DATABASE_URL: "postgres://u:secret@db/lagrello" }, "/")
    expect(Either.isLeft(pg) && pg.left.variable).toBe("DATABASE_URL")
    const bad = Env.parseOperator({ LAGRELLO_ENCRYPTION_KEY: "k1:c2VjcmV0LWtleQ" }, "/")
    expect(Either.isLeft(bad) && bad.left.variable).toBe("LAGRELLO_ENCRYPTION_KEY")
    expect(JSON.stringify(bad)).not.toContain("c2VjcmV0LWtleQ")
  })

  it("agrees with parse on what both read", () => {
    const env = { DATABASE_URL: "postgres://u:p@db:5432/x", LAGRELLO_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString("base64") }
    const server = Either.getOrThrow(Env.parse(env, "/"))
    const operator = Either.getOrThrow(Env.parseOperator(env, "/"))
    expect({ database: server.database, encryptionKey: server.encryptionKey }).toEqual(operator)
    expect(Env.storageConfig(operator.database)).toEqual({ postgres: env.DATABASE_URL })
  })
})

describe("encryptionKeys", () => {
  it.effect("creates the key file (0600) for a new database, unless told not to, and reads it back", () =>
    Effect.gen(function*() {
      const dir = folder()
      const environment = Either.getOrThrow(Env.parseOperator({ DATABASE_URL: `sqlite:${join(dir, "l.db")}` }, "/"))
      const refused = yield* Effect.either(Env.encryptionKeys(environment, { create: false }))
      expect(Either.isLeft(refused) && refused.left._tag).toBe("KeyFileError")
      expect(existsSync(join(dir, "lagrello.key"))).toBe(false)
      const created = yield* Env.encryptionKeys(environment)
      expect(created.created).toBe(true)
      expect(statSync(join(dir, "lagrello.key")).mode & 0o777).toBe(0o600)
      const again = yield* Env.encryptionKeys(environment, { create: false })
      expect(again).toEqual({ keys: created.keys, created: false, warning: undefined })
      chmodSync(join(dir, "lagrello.key"), 0o644)
      expect((yield* Env.encryptionKeys(environment)).warning).toContain("chmod 600")
    }))

  it.effect("refuses to make a key for a database that exists, and names a key file that holds no key", () =>
    Effect.gen(function*() {
      const dir = folder()
      writeFileSync(join(dir, "l.db"), "")
      const environment = Either.getOrThrow(Env.parseOperator({ DATABASE_URL: `sqlite:${join(dir, "l.db")}` }, "/"))
      const missing = yield* Effect.either(Env.encryptionKeys(environment))
      expect(Either.isLeft(missing) && missing.left.message).toContain("already exists")
      writeFileSync(join(dir, "lagrello.key"), "not-a-key-material\n", { mode: 0o600 })
      const broken = yield* Effect.either(Env.encryptionKeys(environment))
      expect(Either.isLeft(broken) && broken.left.message).toContain("holds no valid key")
      expect(JSON.stringify(broken)).not.toContain("not-a-key-material")
      expect(readFileSync(join(dir, "lagrello.key"), "utf8")).toBe("not-a-key-material\n")
    }))
})
