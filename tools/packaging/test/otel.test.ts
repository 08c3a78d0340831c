/**
 * `@lagrello/core/otel` as a user installs it: the core README's telemetry install line, as
 * written (the core's tarball in place of `@lagrello/core`), in an empty folder outside the
 * workspace, from the npm registry. The versions must install together (`npm ls` finds no invalid
 * or missing peer: a line that lets npm pick the OpenTelemetry SDK 3.x fails here), and the entry
 * point must load and export spans and metrics to a loopback OTLP/HTTP receiver
 * (fixtures/otel/check.mjs).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { installEnv } from "./support/app.js"
import { type Completed, runCommand } from "./support/run.js"
import { here, workspaceRoot } from "./support/workspace.js"

const packed = inject("packed")
const readme = join(workspaceRoot, "packages/core/README.md")

/** The README's install line that names @effect/opentelemetry. */
const installLine = (): string => {
  const lines = readFileSync(readme, "utf8").split("\n").filter((l) => /^npm install .*@effect\/opentelemetry@/.test(l))
  expect(lines).toHaveLength(1)
  return lines[0]!
}

describe("@lagrello/core/otel, installed with the README's line", () => {
  let dir: string
  let install: Completed
  const env = installEnv

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lagrello-otel-app-"))
    writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: "lagrello-otel-app", private: true, type: "module" }, null, 2)}\n`)
    copyFileSync(join(here(import.meta.url), "..", "fixtures", "otel", "check.mjs"), join(dir, "check.mjs"))
    const line = installLine().replace(/(?<=\s)@lagrello\/core(?=\s)/, packed["@lagrello/core"].tarball)
    install = await runCommand("bash", ["-euo", "pipefail", "-c", `${line} --loglevel=error`], { cwd: dir, env: env(), timeoutMillis: 900_000 })
  })

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it("installs, with every peer dependency satisfied", async () => {
    expect(install.status, install.stdout + install.stderr).toBe(0)
    const ls = await runCommand("npm", ["ls", "--all", "--json"], { cwd: dir, env: env() })
    const report = JSON.parse(ls.stdout) as { problems?: ReadonlyArray<string> }
    expect(report.problems ?? [], ls.stderr).toEqual([])
    expect(ls.status).toBe(0)
    const version = (name: string) =>
      (JSON.parse(readFileSync(join(dir, "node_modules", name, "package.json"), "utf8")) as { version: string }).version
    expect(version("effect")).toMatch(/^3\./)
    expect(version("@effect/opentelemetry")).toMatch(/^0\.64\./)
    expect(version("@opentelemetry/sdk-metrics")).toMatch(/^2\./)
    expect(version("@opentelemetry/sdk-trace-base")).toMatch(/^2\./)
  })

  it("loads the entry point and exports spans and metrics over OTLP/HTTP", async () => {
    const run = await runCommand(process.execPath, ["check.mjs"], { cwd: dir, env: env(), timeoutMillis: 60_000 })
    expect(run.stdout.trim().split("\n"), run.stderr).toEqual([
      "ok @lagrello/core/otel loads",
      "ok spans exported",
      "ok metrics exported"
    ])
    expect(run.status, run.stderr).toBe(0)
  })
})
