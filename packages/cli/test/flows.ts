/**
 * The CLI driven as a process against a database, with the demo server running on the same
 * database: written once, run on SQLite (cli.sqlite.test.ts) and PostgreSQL (cli.pg.test.ts).
 */
import { spawn } from "node:child_process"
import { readFileSync, statSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
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
  query,
  spawnLagrello,
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

  it("events tail prints a running server's events in log order; --after continues; --follow stops on SIGTERM", async () => {
    const db = await database()
    const { accessToken: token, env } = await withTenant(db, keysA)
    const server = await demo(env)
    const create = async (userId: string) =>
      expect((await call(server.url, "POST", "/v1/users", { token, body: { userId, email: `${userId}@example.com` } })).status).toBe(201)
    await create("alice")
    await create("bob")
    const cursorOf = (stderr: string) => /Last cursor: (\S+) /.exec(stderr)?.[1] ?? "(no cursor)"

    // The JSON lines are the events as GET /v1/events answers them, in the same order.
    const all = await ok(["events", "tail", "--tenant", "Acme", "--json"], env)
    const api = await call(server.url, "GET", "/v1/events?limit=1000", { token })
    const pulled = (api.json as { events: Array<{ type: string; userId?: string }>; next: string })
    expect(all.stdout.trim().split("\n").map((l) => JSON.parse(l) as unknown)).toEqual(pulled.events)
    expect(cursorOf(all.stderr)).toBe(pulled.next)
    expect(pulled.events.filter((e) => e.type === "user.created").map((e) => e.userId)).toEqual(["alice", "bob"])

    // The human lines, of one type; no e-mail address anywhere.
    const created = await ok(["events", "tail", "--tenant", "Acme", "--type", "user.created"], env)
    const lines = created.stdout.trim().split("\n")
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\S+Z\s+user\.created\s+user=alice\s+actor=\S+$/)
    expect(lines[1]).toContain("user=bob")
    expect(created.stdout + created.stderr + all.stdout).not.toContain("@example.com")

    // --after the printed cursor: only what came since, nothing twice.
    await create("carol")
    const since = await ok(["events", "tail", "--tenant", "Acme", "--type", "user.created", "--after", cursorOf(created.stderr)], env)
    expect(since.stdout.trim().split("\n")).toEqual([expect.stringContaining("user=carol")])
    const nothing = await ok(["events", "tail", "--tenant", "Acme", "--type", "user.created", "--after", cursorOf(since.stderr)], env)
    expect(nothing.stdout).toBe("")
    expect(cursorOf(nothing.stderr)).toBe(cursorOf(since.stderr))

    // --follow: new events as they come, each once; SIGTERM ends it with exit 0 and the last cursor.
    const follow = spawnLagrello(
      ["events", "tail", "--tenant", "Acme", "--follow", "--interval", "50", "--json", "--after", cursorOf(since.stderr)],
      env
    )
    await create("dave")
    await follow.until((out) => out.includes(`"userId":"dave"`))
    await create("erin")
    await follow.until((out) => out.includes(`"userId":"erin"`))
    follow.signal("SIGTERM")
    const ended = await follow.exited
    expect(ended.code).toBe(0)
    const followed = ended.stdout.trim().split("\n").map((l) => JSON.parse(l) as { id: string; type: string; userId?: string })
    expect(followed.filter((e) => e.type === "user.created").map((e) => e.userId)).toEqual(["dave", "erin"])
    expect(new Set(followed.map((e) => e.id)).size).toBe(followed.length)
    const rest = await ok(["events", "tail", "--tenant", "Acme", "--after", cursorOf(ended.stderr)], env)
    expect(rest.stdout).toBe("")

    const unknown = await lagrello(["events", "tail", "--tenant", "Nobody"], env)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr.trim().split("\n")).toEqual([expect.stringContaining("No tenant has this name or id")])
  })

  it("webhooks redeliver makes failed deliveries due again, and the server sends them", async () => {
    const db = await database()
    const { accessToken: token, env } = await withTenant(db, keysA)
    let answer = 500
    const received: Array<string> = []
    const waiters: Array<() => void> = []
    const receiver = createServer((request, response) => {
      request.resume()
      request.on("end", () => {
        // The ids of the deliveries it accepted (200).
        if (answer === 200) received.push(String(request.headers["webhook-id"]))
        response.writeHead(answer).end()
        waiters.splice(0).forEach((w) => w())
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
    cleanups.push(() => new Promise((resolve) => receiver.close(resolve)))
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
    const serverEnv = { ...env, LAGRELLO_WEBHOOK_ALLOW_PRIVATE: "1" }
    let server = await demo(serverEnv)
    const made = await call(server.url, "POST", "/v1/webhooks", { token, body: { url: hookUrl, events: ["user.created"] } })
    expect(made.status).toBe(201)
    const hook = made.json as { id: string; secret: string }
    for (const userId of ["alice", "bob"]) {
      expect((await call(server.url, "POST", "/v1/users", { token, body: { userId } })).status).toBe(201)
    }
    const listed = await call(server.url, "GET", `/v1/webhooks/${hook.id}/deliveries`, { token })
    const ids = (listed.json as { data: Array<{ id: string }> }).data.map((d) => d.id)
    expect(ids).toHaveLength(2)
    await server.stop()

    // Failed for good (as after 3 days of 500s): set in the database directly.
    await query(db, "UPDATE webhook_deliveries SET status = 'failed'")
    const statuses = async () =>
      Object.fromEntries(
        (await query<{ event_id: string; status: string }>(db, "SELECT event_id, status FROM webhook_deliveries"))
          .map((r) => [r.event_id, r.status])
      )

    const hooks = await ok(["webhooks", "list", "--tenant", "Acme", "--json"], env)
    expect((JSON.parse(hooks.stdout) as Array<{ id: string; url: string }>).map((w) => [w.id, w.url])).toEqual([[hook.id, hookUrl]])
    expect(hooks.stdout).not.toContain(hook.secret)
    expect((await ok(["webhooks", "list", "--tenant", "Acme"], env)).stdout).not.toContain(hook.secret)

    // One by id; an id that is no delivery of it fails the run (exit 1) after the others.
    const one = await lagrello(["webhooks", "redeliver", "--tenant", "Acme", "--webhook", hook.id, "--delivery", ids[0]!, "--delivery", "evt_nope"], env)
    expect(one.code).toBe(1)
    expect(one.stdout).toContain("1 delivery(ies) due again")
    expect(one.stderr.trim().split("\n")).toHaveLength(1)
    expect(await statuses()).toEqual({ [ids[0]!]: "pending", [ids[1]!]: "failed" })

    // --failed, only those created since a time to come: none; then all of them.
    const future = new Date(Date.now() + 3_600_000).toISOString()
    const none = await ok(["webhooks", "redeliver", "--tenant", "Acme", "--webhook", hook.id, "--failed", "--since", future], env)
    expect(none.stdout).toContain("0 failed delivery(ies) due again")
    const rest = await ok(["webhooks", "redeliver", "--tenant", "Acme", "--webhook", hook.id, "--failed"], env)
    expect(rest.stdout).toContain("1 failed delivery(ies) due again")
    expect(await statuses()).toEqual({ [ids[0]!]: "pending", [ids[1]!]: "pending" })

    // A server sends them to the endpoint, which answers 200 now; the API lists them delivered.
    answer = 200
    const delivered = new Promise<void>((resolve) => {
      const check = () => (ids.every((id) => received.includes(id)) ? resolve() : waiters.push(check))
      check()
    })
    server = await demo(serverEnv)
    await delivered
    const after = await call(server.url, "GET", `/v1/webhooks/${hook.id}/deliveries`, { token })
    const deliveredStatuses = async () =>
      (await call(server.url, "GET", `/v1/webhooks/${hook.id}/deliveries`, { token })).json as { data: Array<{ status: string }> }
    expect(after.status).toBe(200)
    await expect.poll(async () => (await deliveredStatuses()).data.map((d) => d.status)).toEqual(["delivered", "delivered"])

    const unknown = await lagrello(["webhooks", "redeliver", "--tenant", "Acme", "--webhook", "wh_nope", "--failed"], env)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr.trim().split("\n")).toEqual([expect.stringContaining("No webhook with this id")])
  })
}
