/**
 * PostgreSQL for tests, and the project's rule for when it is missing, written once:
 *
 * - The server is `LAGRELLO_TEST_POSTGRES_URL`, by default `postgres://postgres@127.0.0.1:5432/postgres`
 *   (the machines and CI run one there, user `postgres`, trust authentication).
 * - Each test file gets its own database `lagrello_test_<random>`, created before its tests and
 *   dropped after them.
 * - When the server cannot be reached, the tests FAIL if `CI` is set (CI must run them), and are
 *   skipped otherwise, with a message that says how to enable them.
 *
 * Use `describePostgres(title, (db) => { ... })` in place of `describe`.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import * as Pg from "pg"

/** The server's maintenance database, from which test databases are created. */
export const adminUrl = process.env.LAGRELLO_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

const howToEnable =
  "start PostgreSQL with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` " +
  "(a server on 127.0.0.1:5432, user postgres, trust authentication), " +
  "or set LAGRELLO_TEST_POSTGRES_URL to another server's maintenance database"

/** True when `CI` is set (to anything but `""`, `0` or `false`). */
export const inCi = (() => {
  const ci = (process.env.CI ?? "").trim().toLowerCase()
  return ci !== "" && ci !== "0" && ci !== "false"
})()

const redact = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@")

/** The URL of another database on the same server. */
export const databaseUrl = (database: string) => {
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  return url.toString()
}

const withAdmin = async <A>(f: (client: Pg.Client) => Promise<A>): Promise<A> => {
  const client = new Pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 })
  client.on("error", () => undefined)
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** Why the server cannot be used, or undefined when it can. Probed once per test file. */
const unreachable: string | undefined = await withAdmin((c) => c.query("SELECT 1")).then(
  () => undefined,
  (error: unknown) => (error instanceof Error ? error.message || error.constructor.name : String(error))
)

/** A database of its own, created empty. */
export interface CreatedDatabase {
  readonly name: string
  readonly url: string
  readonly drop: () => Promise<void>
}

/** Creates an empty database `lagrello_test_<random>` (drop it when done). */
export const createDatabase = async (): Promise<CreatedDatabase> => {
  const name = `lagrello_test_${randomBytes(6).toString("hex")}`
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`))
  return {
    name,
    url: databaseUrl(name),
    // FORCE: connections a failed test left open do not keep the database alive.
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined)
  }
}

/** The database of one test file, usable in its tests (not while the file is being collected). */
export interface TestDatabase {
  readonly name: string
  readonly url: string
  /** Runs a statement on the database, outside any storage layer. */
  readonly query: <R extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    values?: ReadonlyArray<unknown>
  ) => Promise<ReadonlyArray<R>>
  /** A connection of its own (e.g. to hold a lock in a transaction); the caller ends it. */
  readonly connect: () => Promise<Pg.Client>
  /** Empties the storage tables that exist (keeps the schema and the record of migrations). */
  readonly truncate: () => Promise<void>
}

/** Every table of the storage schema but the record of migrations. */
const storageTables = [
  "tenants",
  "access_tokens",
  "users",
  "magic_links",
  "deleted_user_links",
  "user_totp",
  "outbox",
  "keyring_check",
  "recovery_codes",
  "handoffs",
  "events",
  "webhooks",
  "webhook_deliveries",
  "webhook_attempts"
]

const useTestDatabase = (): TestDatabase => {
  let database: CreatedDatabase | undefined
  let pool: Pg.Pool | undefined
  const current = () => {
    if (!database || !pool) throw new Error("The test database exists only while the tests run")
    return { database, pool }
  }
  beforeAll(async () => {
    database = await createDatabase()
    pool = new Pg.Pool({ connectionString: database.url, max: 4, connectionTimeoutMillis: 5000 })
    pool.on("error", () => undefined)
  })
  afterAll(async () => {
    await pool?.end()
    await database?.drop()
  })
  return {
    get name() {
      return current().database.name
    },
    get url() {
      return current().database.url
    },
    query: async <R extends Record<string, unknown>>(text: string, values?: ReadonlyArray<unknown>) =>
      (await current().pool.query<R>(text, values ? [...values] : undefined)).rows,
    connect: async () => {
      const client = new Pg.Client({ connectionString: current().database.url })
      client.on("error", () => undefined)
      await client.connect()
      return client
    },
    truncate: async () => {
      // Only the tables that exist: none before the first storage layer has migrated the database.
      const { rows } = await current().pool.query<{ names: string | null }>(
        `SELECT string_agg(quote_ident(t), ', ') AS names FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NOT NULL`,
        [storageTables]
      )
      if (rows[0]?.names) await current().pool.query(`TRUNCATE ${rows[0].names}`)
    }
  }
}

/**
 * `describe` for tests that need PostgreSQL: they get a database of their own, or fail (in CI) or
 * are skipped (elsewhere, saying how to enable them) when the server cannot be reached.
 */
export const describePostgres = (title: string, body: (db: TestDatabase) => void) => {
  if (unreachable === undefined) return describe(title, () => body(useTestDatabase()))
  const problem = `PostgreSQL is not reachable at ${redact(adminUrl)} (${unreachable})`
  if (inCi) {
    return describe(title, () => {
      it("needs PostgreSQL", () => {
        throw new Error(`${problem}. CI is set, so the PostgreSQL tests fail rather than being skipped; ${howToEnable}.`)
      })
    })
  }
  console.warn(`Skipping "${title}": ${problem}. To run these tests, ${howToEnable}.`)
  return describe(title, () => {
    it.skip(`skipped: ${problem}; to run these tests, ${howToEnable}`, () => undefined)
  })
}
