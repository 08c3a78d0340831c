/**
 * The CLI driven as a process against a database, with the demo server running on the same
 * database: written once, run on SQLite (cli.sqlite.test.ts) and PostgreSQL (cli.pg.test.ts).
 */
import { spawn } from "node:child_process"
import { readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { afterEach, expect, it } from "vitest"
import {
  bin,
  call,
  callbackUrl,
  code,
  type Db,
  enrol,
  keysA,
  keysB,
  keysBA,
  lagrello,
  ok,
  okJson,
  startDemo,
  verify
} from "./support/cli.js"

interface Status {
  activeKeyId: string
  keyCheckKeyId: string | null
  remaining: number
  counts: Array<{ kind: string; keyId: string; count: number }>
}

const countOf = (status: Status, kind: string, keyId: string) =>
  status.counts.find((c) => c.kind === kind && c.keyId === keyId)?.count ?? 0

type RunningDemo = Awaited<ReturnType<typeof startDemo>>

export const cliFlows = (makeDb: () => Promise<Db>) => {
  const cleanups: Array<() => Promise<unknown>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  const database = async () => {
    const db = await makeDb()
    cleanups.push(db.drop)
    return db
  }
  const demo = async (env: Record<string, string>) => {
    const running = await startDemo(env)
    cleanups.push(() => running.stop())
    return running
  }
  /** A migrated database with the tenant Acme; answers its ADMIN token. */
  const withTenant = async (db: Db, keys: string) => {
    const env = { DATABASE_URL: db.url, LAGRELLO_ENCRYPTION_KEY: keys }
    await ok(["migrate"], env)
    const created = await okJson<{ tenantId: string; accessToken: string }>(
      ["tenant", "create", "Acme", "--callback-url", callbackUrl],
      env
    )
    return { env, ...created }
  }

  it("tenant and token commands take effect on a running server at once", async () => {
    const db = await database()
    const { accessToken, env, tenantId } = await withTenant(db, keysA)
    const server: RunningDemo = await demo(env)

    // The tenant made by the CLI, with its token printed once, works on the running server.
    const tenant = await call(server.url, "GET", "/v1/tenant", { token: accessToken })
    expect(tenant.status).toBe(200)
    expect(tenant.json).toMatchObject({ tenantId, tenantName: "Acme", callbackUrl })
    const listed = await okJson<Array<{ tenantName: string }>>(["tenant", "list"], env)
    expect(listed.map((t) => t.tenantName).sort()).toEqual(["Acme", "Lagrello Demo"])

    const created = await ok(["token", "create", "--tenant", "Acme", "--name", "ci", "--permission", "WRITE"], env)
    const secret = created.stdout.trim().split("\n").at(-1)!
    expect(created.stderr).not.toContain(secret)
    expect((await call(server.url, "POST", "/v1/users", { token: secret, body: { userId: "dave" } })).status).toBe(201)
    // WRITE does not include ADMIN: the server refuses to list tokens with it.
    expect((await call(server.url, "GET", "/v1/tokens", { token: secret })).status).toBe(403)

    const tokens = await okJson<Array<{ tokenId: string; tokenName: string; createdBy: string }>>(
      ["token", "list", "--tenant", tenantId],
      env
    )
    expect(tokens.map((t) => [t.tokenName, t.createdBy])).toEqual([["bootstrap", "bootstrap"], ["ci", "operator"]])
    expect(JSON.stringify(tokens)).not.toContain(secret)
    expect(JSON.stringify(tokens)).not.toContain(accessToken)
    const ci = tokens.find((t) => t.tokenName === "ci")!
    await ok(["token", "revoke", "--tenant", "Acme", ci.tokenId], env)
    expect((await call(server.url, "GET", "/v1/users/dave", { token: secret })).status).toBe(403)
    const again = await lagrello(["token", "revoke", "--tenant", "Acme", ci.tokenId], env)
    expect(again.code).toBe(1)
    expect(again.stderr.trim().split("\n")).toHaveLength(1)
    // The server logged nothing of the tokens either.
    expect(server.stdout() + server.stderr()).not.toContain(secret)
  })

  it("rotation while a server runs, then a server with only the new key verifies the old users' codes", async () => {
    const db = await database()
    const { accessToken: token, env: envA } = await withTenant(db, keysA)
    let server = await demo(envA)
    const alice = await enrol(server.url, token, "alice")
    const bob = await enrol(server.url, token, "bob", false)
    expect((await call(server.url, "POST", "/v1/users", { token, body: { userId: "carol", email: "carol@example.com" } })).status).toBe(201)
    expect((await call(server.url, "POST", "/v1/users/carol/email", { token })).status).toBe(204)
    await server.stop()

    const before = await okJson<Status>(["keys", "status"], envA)
    expect(before).toMatchObject({ activeKeyId: "k1", keyCheckKeyId: "k1", remaining: 0 })
    expect([countOf(before, "totp-confirmed", "k1"), countOf(before, "totp-pending", "k1"), countOf(before, "outbox", "k1")])
      .toEqual([1, 1, 1])

    // Servers run with the rotated keyring (new key first, old key after it) while the CLI re-seals.
    const envBA = { ...envA, LAGRELLO_ENCRYPTION_KEY: keysBA }
    server = await demo(envBA)
    const erin = await enrol(server.url, token, "erin")
    expect(countOf(await okJson<Status>(["keys", "status"], envBA), "totp-confirmed", "k2")).toBe(1)
    const rotated = await ok(["keys", "rotate", "--batch-size", "1"], envBA)
    expect(rotated.stderr).toContain("totp-confirmed: 1 re-sealed")
    expect(rotated.stdout).toContain("Re-sealed 3 value(s) under the key k2")
    expect(await verify(server.url, token, "erin", erin)).toBe(200)
    await server.stop()

    const after = await okJson<Status>(["keys", "status"], { ...envA, LAGRELLO_ENCRYPTION_KEY: keysB })
    expect(after).toMatchObject({ activeKeyId: "k2", keyCheckKeyId: "k2", remaining: 0 })
    expect(after.counts.every((c) => c.keyId === "k2")).toBe(true)

    // The old key is retired: a server with only the new key starts and verifies the old codes.
    server = await demo({ ...envA, LAGRELLO_ENCRYPTION_KEY: keysB })
    expect(await verify(server.url, token, "alice", alice)).toBe(200)
    // Bob's pending enrolment, re-sealed too, is confirmed by his first code.
    expect((await call(server.url, "GET", `/v1/users/bob/totp?payload=${code(bob)}`, { token })).status).toBe(200)
  })

  it("an interrupted rotation resumes: the old key stays needed until the last value is re-sealed", async () => {
    const db = await database()
    const { accessToken: token, env: envA } = await withTenant(db, keysA)
    let server = await demo(envA)
    const secrets = new Map<string, string>()
    for (const userId of ["u1", "u2", "u3", "u4", "u5", "u6"]) secrets.set(userId, await enrol(server.url, token, userId))
    await server.stop()
    const envBA = { ...envA, LAGRELLO_ENCRYPTION_KEY: keysBA }
    const envB = { ...envA, LAGRELLO_ENCRYPTION_KEY: keysB }

    // Stopped after two values (--limit): four remain under k1, and the check value stays under k1.
    const first = await okJson<{ resealed: number; stopped: boolean; status: Status }>(["keys", "rotate", "--limit", "2"], envBA)
    expect(first).toMatchObject({ resealed: 2, stopped: true, status: { remaining: 4, keyCheckKeyId: "k1" } })
    const refused = await lagrello(["keys", "status"], envB)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^lagrello: LAGRELLO_ENCRYPTION_KEY: .*"k1"/)

    // Killed in the middle of a run (after its first batch): nothing half-written, and the next run finishes.
    const child = spawn(process.execPath, [bin, "keys", "rotate", "--batch-size", "1"], {
      env: { ...process.env, ...envBA },
      stdio: ["ignore", "ignore", "pipe"]
    })
    await new Promise<void>((resolve) => child.stderr.once("data", () => resolve()))
    child.kill("SIGKILL")
    await new Promise((resolve) => child.once("exit", resolve))
    const resumed = await okJson<{ status: Status; keyCheckResealed: boolean }>(["keys", "rotate"], envBA)
    expect(resumed).toMatchObject({ keyCheckResealed: true, status: { remaining: 0, keyCheckKeyId: "k2" } })
    expect(countOf(resumed.status, "totp-confirmed", "k2")).toBe(6)

    server = await demo(envB)
    for (const [userId, secret] of secrets) expect(await verify(server.url, token, userId, secret)).toBe(200)
  })

  it("export, import into a new database: the users are there, and their codes verify", async () => {
    const source = await database()
    const { accessToken: token, env } = await withTenant(source, keysA)
    let server = await demo(env)
    const alice = await enrol(server.url, token, "alice")
    expect((await call(server.url, "POST", "/v1/users", { token, body: { userId: "bob", email: "bob@example.com" } })).status).toBe(201)
    await server.stop()

    const file = join(source.dir, "users.jsonl")
    const exported = await ok(["users", "export", "--tenant", "Acme", "--output", file], env)
    expect(exported.stderr).toContain("Exported 2 user(s)")
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { userId: string })
    expect(lines.map((l) => l.userId)).toEqual(["alice", "bob"])
    expect(readFileSync(file, "utf8")).not.toContain(alice)
    // To stdout as well.
    expect((await ok(["users", "export", "--tenant", "Acme"], env)).stdout).toBe(readFileSync(file, "utf8"))

    // A new database with its own tenant and the rotated keyring (it holds the export's key).
    const target = await database()
    const { accessToken: newToken, env: targetEnv } = await withTenant(target, keysBA)
    const imported = await ok(["users", "import", "--tenant", "Acme", "--input", file], targetEnv)
    expect(imported.stderr).toContain("Imported 2 user(s)")
    // Again: both exist, nothing changes; a broken line is named by its number and fails the run.
    const twice = await lagrello(["users", "import", "--tenant", "Acme"], targetEnv, {
      input: `${readFileSync(file, "utf8")}{"userId":"s3cret-looking"}\n`
    })
    expect(twice.code).toBe(1)
    expect(twice.stderr).toContain("2 existed already")
    expect(twice.stderr).toContain("line 3 is not a user of a Lagrello export")
    expect(twice.stderr).not.toContain("s3cret-looking")

    // Imported under the new database's active key: a server with only that key verifies.
    server = await demo({ ...targetEnv, LAGRELLO_ENCRYPTION_KEY: keysB })
    expect((await call(server.url, "GET", "/v1/users/bob", { token: newToken })).json).toEqual({ userId: "bob", email: "bob@example.com" })
    expect(await verify(server.url, newToken, "alice", alice)).toBe(200)
  })

  it("outbox list shows messages without their content", async () => {
    const db = await database()
    const { accessToken: token, env } = await withTenant(db, keysA)
    const server = await demo(env)
    expect((await call(server.url, "POST", "/v1/users", { token, body: { userId: "carol", email: "carol@example.com" } })).status).toBe(201)
    expect((await call(server.url, "POST", "/v1/users/carol/email", { token })).status).toBe(204)
    const messages = await okJson<Array<{ userId: string; status: string; keyId: string }>>(["outbox", "list"], env)
    expect(messages).toEqual([expect.objectContaining({ userId: "carol", keyId: "k1" })])
    expect(JSON.stringify(messages)).not.toContain("carol@example.com")
    const none = await okJson<Array<unknown>>(["outbox", "list", "--status", "failed"], env)
    expect(none).toEqual([])
    const retried = await ok(["outbox", "retry", "--all"], env)
    expect(retried.stdout).toContain("0 message(s) due again")
  })
}
