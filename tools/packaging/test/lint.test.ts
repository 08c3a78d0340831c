/**
 * The linters of published packages, on the tarballs users get: `publint --strict` (the manifest
 * against the files) and `@arethetypeswrong/cli` (each entry point's types resolve, for ESM under
 * `node16` and for bundlers; CommonJS `require` resolutions are out of scope: the packages are
 * ESM only, see the README).
 */
import { spawnSync } from "node:child_process"
import { describe, expect, inject, it } from "vitest"
import { bin } from "./support/workspace.js"

const packed = inject("packed")

const run = (command: string, args: ReadonlyArray<string>) => {
  const result = spawnSync(command, args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } })
  return { status: result.status, stdout: result.stdout, output: `${result.stdout}${result.stderr}` }
}

interface AttwProblem {
  readonly kind: string
  readonly entrypoint?: string
  readonly resolutionKind?: string
}

describe.each(Object.values(packed))("$name", (pkg) => {
  it("passes publint --strict", () => {
    const { output, status } = run(bin("publint"), ["run", pkg.tarball, "--strict"])
    expect(status, output).toBe(0)
    expect(output).toContain("All good!")
  })

  it("passes @arethetypeswrong/cli for ESM (node16) and bundler resolution", () => {
    const { output, status, stdout } = run(bin("attw"), [pkg.tarball, "--profile", "esm-only", "--format", "json"])
    expect(status, output).toBe(0)
    const report = JSON.parse(stdout) as { analysis: { entrypoints: object }; problems: Record<string, ReadonlyArray<AttwProblem>> }
    expect(Object.keys(report.analysis.entrypoints).length).toBeGreaterThan(1)
    const inScope = Object.values(report.problems)
      .flat()
      .filter((p) => p.resolutionKind === undefined || p.resolutionKind === "node16-esm" || p.resolutionKind === "bundler")
    expect(inScope).toEqual([])
  })
})
