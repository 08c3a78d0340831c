/**
 * `npm run docs`: the API reference TypeDoc generates from the TSDoc comments of the four
 * packages (typedoc.json at the root; warnings are errors, e.g. a public type that refers to one
 * left out of the reference).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, expect, it } from "vitest"
import { runCommand } from "./support/run.js"
import { bin, workspaceRoot } from "./support/workspace.js"

const out = mkdtempSync(join(tmpdir(), "lagrello-api-"))
afterAll(() => rmSync(out, { recursive: true, force: true }))

it("builds without warnings and documents every published package", async () => {
  const { status, stderr, stdout } = await runCommand(bin("typedoc"), ["--out", out], {
    cwd: workspaceRoot,
    env: { ...process.env, NO_COLOR: "1" }
  })
  const output = stdout + stderr
  expect(status, output).toBe(0)
  const index = readFileSync(join(out, "index.html"), "utf8")
  for (const name of ["@lagrello/core", "@lagrello/client", "@lagrello/nest", "@lagrello/cli"]) expect(index).toContain(name)
}, 120_000)
