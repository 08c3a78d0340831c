#!/usr/bin/env node
// `npm test`: build, typecheck and lint every project, run every project's tests, and end with one
// plain line `N passed, M failed` totalled over all projects (read from each vitest JSON report).
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs"
import { join } from "node:path"

const root = new URL("..", import.meta.url).pathname
const projectDirs = ["packages", "apps", "tools"].flatMap((group) =>
  existsSync(join(root, group))
    ? readdirSync(join(root, group), { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(root, group, d.name, "package.json")))
        .map((d) => join(root, group, d.name))
    : []
)

const env = { ...process.env, NX_DAEMON: "false", NX_NO_CLOUD: "true", NX_TUI: "false" }
const nx = (args) =>
  spawnSync("npx", ["nx", "run-many", ...args, "--outputStyle=stream"], { cwd: root, env, stdio: "inherit" }).status

for (const dir of projectDirs) rmSync(join(dir, "test-results"), { recursive: true, force: true })

const checks = nx(["-t", "build", "typecheck", "lint", "--parallel=2"])
const tests = nx(["-t", "test", "--parallel=1"])

let passed = 0
let failed = 0
let skipped = 0
for (const dir of projectDirs) {
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
  if (!manifest.scripts?.test) continue
  const report = join(dir, "test-results", "vitest.json")
  if (!existsSync(report)) {
    console.error(`${manifest.name}: no test report (the test run did not complete)`)
    failed += 1
    continue
  }
  const r = JSON.parse(readFileSync(report, "utf8"))
  passed += r.numPassedTests
  failed += r.numFailedTests
  skipped += r.numPendingTests + r.numTodoTests
  // A suite that failed to load has no tests counted; count it as a failure.
  failed += r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length
}
if (checks !== 0) console.error("build, typecheck or lint failed (see above)")
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`)
process.exit(checks === 0 && tests === 0 && failed === 0 ? 0 : 1)
