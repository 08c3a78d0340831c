/**
 * The curl walk-throughs of the README and of apps/demo/README.md, as written: `npm start` at
 * the repository root (what a newcomer types), on a free port with its data in a temporary
 * folder, then each README's marked shell block run with bash, with TOKEN set to the access token
 * the first start printed. Each `# => ...` line of a block is what the command before it prints;
 * the output must be exactly those lines, in order. Then SIGTERM to `npm start` stops the server
 * too (no process left).
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { markedBlocks } from "../../../tools/packaging/test/support/markdown.js"
import { freePort } from "./support/server.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const walkThroughs = [
  { document: "README.md", variable: "LAGRELLO" },
  { document: "apps/demo/README.md", variable: "BASE" }
].map(({ document, variable }) => {
  const blocks = markedBlocks(join(root, document))
  return { document, variable, blocks, block: blocks[0]! }
})

/** The environment without the demo's variables and npm's own (`npm test` sets `npm_config_*`). */
const cleanEnv = (): Record<string, string> =>
  Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && !/^(PORT|HOST|DATABASE_URL|SMTP_URL|MAIL_FROM|PUBLIC_URL|LAGRELLO_.*|npm_.*|VITEST.*|NODE_OPTIONS)$/i.test(e[0])
    )
  )

const descendants = (pid: number): Array<number> => {
  let children: Array<number>
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    children = []
  }
  return children.flatMap((child) => [child, ...descendants(child)])
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("the README's curl walk-through against npm start", () => {
  let dir: string
  let npm: ReturnType<typeof spawn>
  let output = ""
  let exited: Promise<number | null>
  let base: string

  beforeAll(async () => {
    for (const { blocks } of walkThroughs) expect(blocks.map((b) => b.kind)).toEqual(["run"])
    dir = mkdtempSync(join(tmpdir(), "lagrello-readme-"))
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    npm = spawn("npm", ["start"], {
      cwd: root,
      env: { ...cleanEnv(), PORT: String(port), DATABASE_URL: `sqlite:${join(dir, "lagrello.db")}` }
    })
    npm.stdout!.setEncoding("utf8").on("data", (c: string) => (output += c))
    npm.stderr!.setEncoding("utf8").on("data", (c: string) => (output += c))
    exited = new Promise((resolve) => npm.on("exit", (code) => resolve(code)))
    const deadline = Date.now() + 120_000
    for (;;) {
      if (npm.exitCode !== null) throw new Error(`npm start exited:\n${output}`)
      if (Date.now() > deadline) throw new Error(`npm start did not answer in time:\n${output}`)
      if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) break
      await new Promise((r) => setTimeout(r, 100))
    }
  }, 150_000)

  afterAll(() => {
    if (npm?.exitCode === null) npm.kill("SIGKILL")
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it.each(walkThroughs)("$document: prints what it says, line by line", async ({ variable, block }) => {
    const token = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/.exec(output)?.[0]
    expect(token, output).toBeDefined()
    const expected = block.text
      .split("\n")
      .filter((line) => line.startsWith("# => "))
      .map((line) => line.slice("# => ".length))
    expect(expected.length).toBeGreaterThanOrEqual(5)
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const bash = spawn("bash", ["-euo", "pipefail", "-c", block.text], {
        cwd: root,
        env: { ...cleanEnv(), [variable]: base, TOKEN: token! }
      })
      let stdout = ""
      let stderr = ""
      bash.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c))
      bash.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c))
      bash.on("close", (code) => resolve({ code, stdout, stderr }))
    })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout.trimEnd().split("\n")).toEqual(expected)
  }, 60_000)

  it("stops on SIGTERM to npm start, the server with it", async () => {
    const processes = descendants(npm.pid!)
    expect(processes.length).toBeGreaterThan(0)
    npm.kill("SIGTERM")
    expect(await exited).toBe(0)
    const deadline = Date.now() + 10_000
    while (processes.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(processes.filter(alive), output).toEqual([])
    expect(await fetch(`${base}/health`).then(() => "answered", () => "refused")).toBe("refused")
    expect(output).toContain('"msg":"stopping","signal":"SIGTERM"')
  }, 30_000)
})
