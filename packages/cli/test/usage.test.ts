/**
 * Bad usage exits 2 with one line on stderr; a failure exits 1 with one line; nothing quotes the
 * values given.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { keysA, lagrello } from "./support/cli.js"

const dir = mkdtempSync(join(tmpdir(), "lagrello-usage-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const env = { DATABASE_URL: `sqlite:${join(dir, "lagrello.db")}`, LAGRELLO_ENCRYPTION_KEY: keysA }

const oneLine = (stderr: string) => {
  const lines = stderr.trimEnd().split("\n")
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^lagrello: /)
  expect(stderr).not.toMatch(/\n\s+at /)
  return lines[0]!
}

describe("lagrello's exit codes", () => {
  it.each([
    [["nope"], /Invalid subcommand/],
    [["keys", "rotate", "--batch-size", "banana-s3cret"], /is not a integer/],
    [["keys", "rotate", "--batch-size", "0"], /--batch-size must be a whole number/],
    [["token", "create", "--name", "x"], /--tenant/],
    [["token", "create", "--tenant", "Acme", "--name", "x", "--permission", "ROOT"], /READ, WRITE, ADMIN/],
    [["outbox", "retry"], /give the ids of failed messages, or --all/],
    [["outbox", "list", "--status", "lost"], /pending, sent, expired, failed, superseded/],
    [["tenant", "create", "x".repeat(200)], /Invalid tenant name/],
    [["events", "tail", "--tenant", "Acme", "--type", "banana-s3cret"], /--type must be an event type/],
    [["events", "tail", "--tenant", "Acme", "--after", "banana-s3cret"], /--after must be a cursor/],
    [["events", "tail", "--tenant", "Acme", "--follow", "--interval", "0"], /--interval must be a whole number/],
    [["events", "tail"], /--tenant/],
    [["webhooks", "redeliver", "--tenant", "Acme", "--webhook", "wh_x"], /give --delivery ids, or --failed/],
    [["webhooks", "redeliver", "--tenant", "Acme", "--webhook", "wh_x", "--failed", "--delivery", "evt_x"], /give --delivery ids, or --failed/],
    [["webhooks", "redeliver", "--tenant", "Acme", "--webhook", "wh_x", "--failed", "--since", "banana-s3cret"], /--since must be an ISO 8601 time/],
    [["webhooks", "redeliver", "--tenant", "Acme", "--webhook", "wh_x", "--delivery", "evt_x", "--since", "2026-01-01"], /--since goes with --failed/]
  ])("lagrello %j exits 2 with one line", async (args, message) => {
    const ran = await lagrello(args, env)
    expect(ran.code).toBe(2)
    expect(ran.stdout).toBe("")
    const line = oneLine(ran.stderr)
    expect(line).toMatch(message)
    expect(line).not.toContain("banana-s3cret")
  })

  it("--help lists every command and exits 0", async () => {
    const ran = await lagrello(["--help"], env)
    expect(ran.code).toBe(0)
    for (const command of ["migrate", "tenant create", "token revoke", "keys rotate", "users import", "outbox retry", "events tail", "webhooks list", "webhooks redeliver"]) {
      expect(ran.stdout).toContain(command)
    }
  })

  it("a database that does not exist, or a bad configuration, fails with exit 1 and one line naming the variable", async () => {
    const missing = await lagrello(["tenant", "list"], env)
    expect(missing.code).toBe(1)
    expect(oneLine(missing.stderr)).toContain("DATABASE_URL: the SQLite database")
    const badKey = await lagrello(["tenant", "list"], { ...env, LAGRELLO_ENCRYPTION_KEY: "not-a-key-s3cret" })
    expect(badKey.code).toBe(1)
    const line = oneLine(badKey.stderr)
    expect(line).toContain("LAGRELLO_ENCRYPTION_KEY")
    expect(line).not.toContain("not-a-key-s3cret")
    const pgWithoutKey = await lagrello(["migrate"], { DATABASE_URL: "postgres://u:p@127.0.0.1:1/db" })
    expect(pgWithoutKey.code).toBe(1)
    expect(oneLine(pgWithoutKey.stderr)).toContain("PostgreSQL requires LAGRELLO_ENCRYPTION_KEY")
  })

  it("a tenant created twice fails the second time with exit 1", async () => {
    expect((await lagrello(["migrate"], env)).code).toBe(0)
    expect((await lagrello(["tenant", "create", "Twice"], env)).code).toBe(0)
    const again = await lagrello(["tenant", "create", "Twice"], env)
    expect(again.code).toBe(1)
    expect(again.stdout).toBe("")
    expect(oneLine(again.stderr)).toContain("exists already")
  })
})
