/**
 * `@lagrello/cli` as users get it: the README's install block and its examples, run as written in
 * a fresh folder outside the workspace (the packed tarballs in place of the `@lagrello/*` names,
 * the npm registry for everything else), then the bin against the SQLite file they made.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { installEnv } from "./support/app.js"
import { markedBlocks } from "./support/markdown.js"
import { runCommand } from "./support/run.js"
import { tarballsIn } from "./support/tarballs.js"
import { workspaceRoot } from "./support/workspace.js"

const packed = inject("packed")
const withTarballs = tarballsIn(packed)
const readme = join(workspaceRoot, "packages/cli/README.md")
const blocks = markedBlocks(readme).filter((b) => b.kind === "run")

let dir: string
const env = installEnv
const bash = (script: string) => runCommand("bash", ["-euo", "pipefail", "-c", script], { cwd: dir, env: env(), timeoutMillis: 900_000 })

describe("the CLI's README, as written", () => {
  const outputs: Array<string> = []

  beforeAll(async () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2)
    dir = mkdtempSync(join(tmpdir(), "lagrello-cli-"))
    for (const block of blocks) {
      const script = block.text.split("\n").map(withTarballs).join("\n")
      const result = await bash(script)
      expect(result.status, `README line ${block.line}:\n${script}\n${result.stdout}${result.stderr}`).toBe(0)
      outputs.push(result.stdout)
    }
  })

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it("installs from the tarballs and prints its help", () => {
    const lock = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8")) as {
      packages: Record<string, { resolved?: string; version?: string }>
    }
    expect(lock.packages["node_modules/@lagrello/cli"]?.resolved).toMatch(/^file:.*\.tgz$/)
    // One effect, of the 3.x line (npm's latest is 4.x).
    expect(lock.packages["node_modules/effect"]?.version).toMatch(/^3\./)
    for (const command of ["migrate", "tenant create", "keys rotate", "users export", "outbox retry", "events tail", "webhooks redeliver"]) {
      expect(outputs[0]).toContain(command)
    }
  })

  it("made the tenant and the token in the SQLite file, which the bin lists", async () => {
    const acme = JSON.parse(readFileSync(join(dir, "acme.json"), "utf8")) as { tenantId: string; accessToken: string }
    expect(acme.accessToken).toMatch(/^[0-9a-f-]{36}$/)
    const ci = JSON.parse(readFileSync(join(dir, "ci-token.json"), "utf8")) as { tokenKey: string; permissions: Array<string> }
    expect(ci.permissions).toEqual(["READ", "WRITE"])
    // events tail printed the creation of the ci token (by the operator: no actor), and no token.
    expect(outputs[1]!.match(/^\S+Z\s+token\.created\s+user=-\s+actor=-$/gm)).toHaveLength(1)
    expect(outputs[1]).not.toContain(ci.tokenKey)
    const listed = await bash("DATABASE_URL=sqlite:./data/lagrello.db npx lagrello token list --tenant Acme --json")
    expect(listed.status, listed.stderr).toBe(0)
    const tokens = JSON.parse(listed.stdout) as Array<{ tokenName: string }>
    expect(tokens.map((t) => t.tokenName)).toEqual(["bootstrap", "ci"])
    expect(listed.stdout).not.toContain(ci.tokenKey)
    const status = await bash("DATABASE_URL=sqlite:./data/lagrello.db npx lagrello keys status --json")
    expect(JSON.parse(status.stdout)).toMatchObject({ activeKeyId: "k1", keyCheckKeyId: "k1", remaining: 0 })
  })

  it("exits 2 with one line on bad usage", async () => {
    const bad = await bash("npx lagrello keys spin || echo \"exit=$?\"")
    expect(bad.stdout.trim()).toBe("exit=2")
    expect(bad.stderr.trim().split("\n")).toHaveLength(1)
  })
})
