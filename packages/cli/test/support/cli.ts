/**
 * Runs the built `lagrello` bin as a process, and what the tests do around it: databases
 * (a SQLite file in a folder of its own, or a PostgreSQL database of its own), the demo server as
 * a process, TOTP codes.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import Database from "better-sqlite3"
import * as Pg from "pg"
import { base32Decode, totpAt } from "@lagrello/core"
import { call, startDemo } from "../../../../apps/demo/test/support/server.js"
import { createDatabase } from "../../../core/test/support/postgres.js"

export { call, startDemo }
export { describePostgres } from "../../../core/test/support/postgres.js"

export const bin = fileURLToPath(new URL("../../bin/lagrello.mjs", import.meta.url))

/** Keys: A, then the rotated keyring B (active) + A, then B alone. */
export const keyA = Buffer.alloc(32, 1).toString("base64")
export const keyB = Buffer.alloc(32, 2).toString("base64")
export const keysA = keyA
export const keysBA = `k2:${keyB},k1:${keyA}`
export const keysB = `k2:${keyB}`

const configVariables = /^(PORT|HOST|DATABASE_URL|SMTP_URL|MAIL_FROM|PUBLIC_URL|LAGRELLO_.*|NODE_ENV)$/
const baseEnv = (): Record<string, string> =>
  Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !configVariables.test(e[0]))
  )

export interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `lagrello args...` to its end. */
export const lagrello = (
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  options: { readonly input?: string; readonly cwd?: string } = {}
): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd, env: { ...baseEnv(), ...env }, stdio: "pipe" })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("error", reject)
    child.on("exit", (code) => setImmediate(() => resolve({ code, stdout, stderr })))
    child.stdin.end(options.input ?? "")
  })

/** Runs it and expects success; answers its stdout parsed as JSON when `--json` was given. */
export const ok = async (args: ReadonlyArray<string>, env: Record<string, string>, options?: { readonly input?: string }) => {
  const ran = await lagrello(args, env, options)
  if (ran.code !== 0) throw new Error(`lagrello ${args.join(" ")} exited ${ran.code}:\n${ran.stdout}\n${ran.stderr}`)
  return ran
}
export const okJson = async <A = unknown>(args: ReadonlyArray<string>, env: Record<string, string>) =>
  JSON.parse((await ok([...args, "--json"], env)).stdout) as A

/** A database to run against, removed by `drop`. */
export interface Db {
  readonly url: string
  /** A folder of its own for files (exports). */
  readonly dir: string
  readonly drop: () => Promise<void>
}

export const sqliteDb = async (): Promise<Db> => {
  const dir = mkdtempSync(join(tmpdir(), "lagrello-cli-"))
  return { url: `sqlite:${join(dir, "lagrello.db")}`, dir, drop: async () => rmSync(dir, { recursive: true, force: true }) }
}

export const postgresDb = async (): Promise<Db> => {
  const database = await createDatabase()
  const dir = mkdtempSync(join(tmpdir(), "lagrello-cli-"))
  return {
    url: database.url,
    dir,
    drop: async () => {
      rmSync(dir, { recursive: true, force: true })
      await database.drop()
    }
  }
}

export const callbackUrl = "https://app.example.com/login/{}"

/** The code of the authenticator at `offsetSteps` from now. */
export const code = (secretKey: string, offsetSteps = 0) => totpAt(base32Decode(secretKey)!, Date.now() + offsetSteps * 30_000)

/** A user enrolled through the API: its secret, confirmed with the previous step's code (unless `confirm` is false). */
export const enrol = async (url: string, token: string, userId: string, confirm = true): Promise<string> => {
  const created = await call(url, "POST", "/v1/users", { token, body: { userId, email: `${userId}@example.com` } })
  if (created.status !== 200 && created.status !== 201) throw new Error(`creating ${userId}: ${created.status} ${created.text}`)
  const enabled = await call(url, "POST", `/v1/users/${userId}/totp`, { token, body: { enable: true } })
  const secretKey = (enabled.json as { secretKey: string }).secretKey
  if (confirm) {
    const verified = await call(url, "GET", `/v1/users/${userId}/totp?payload=${code(secretKey, -1)}`, { token })
    if (verified.status !== 200) throw new Error(`confirming ${userId}: ${verified.status} ${verified.text}`)
  }
  return secretKey
}

/** Verifies the user's code of the next step: the status answered. */
export const verify = async (url: string, token: string, userId: string, secretKey: string) =>
  (await call(url, "GET", `/v1/users/${userId}/totp?payload=${code(secretKey, 1)}`, { token })).status

/**
 * Runs a statement on the test's database directly, outside Lagrello (to set up a state that
 * takes days to reach, or to look at one): the rows it answers.
 */
export const query = async <Row>(db: Db, statement: string): Promise<Array<Row>> => {
  if (db.url.startsWith("sqlite:")) {
    const sqlite = new Database(db.url.slice("sqlite:".length))
    try {
      const prepared = sqlite.prepare(statement)
      return prepared.reader ? (prepared.all() as Array<Row>) : (prepared.run(), [])
    } finally {
      sqlite.close()
    }
  }
  const client = new Pg.Client({ connectionString: db.url })
  await client.connect()
  try {
    return (await client.query(statement)).rows as Array<Row>
  } finally {
    await client.end()
  }
}

/** A process of `lagrello args...` left running: its output so far, a wait for some, its end. */
export const spawnLagrello = (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...baseEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  const waiters: Array<() => void> = []
  const wake = () => waiters.splice(0).forEach((w) => w())
  child.stdout.on("data", (chunk: Buffer) => ((stdout += chunk.toString()), wake()))
  child.stderr.on("data", (chunk: Buffer) => ((stderr += chunk.toString()), wake()))
  const exited = new Promise<Ran>((resolve) =>
    child.on("exit", (code) => setImmediate(() => resolve({ code, stdout, stderr })))
  )
  return {
    stdout: () => stdout,
    /** Waits until stdout satisfies `done` (the test's timeout bounds the wait). */
    until: (done: (stdout: string) => boolean): Promise<void> =>
      new Promise((resolve) => {
        const check = () => (done(stdout) ? resolve() : waiters.push(check))
        check()
      }),
    signal: (signal: NodeJS.Signals) => child.kill(signal),
    exited
  }
}
