/**
 * `npm run release:dry` (tools/release-dry.mjs): the pending changesets version the published
 * packages (with a changelog each and internal ranges updated) and the results pack, in a copy of
 * the workspace, without publishing.
 */
import { join } from "node:path"
import { expect, it } from "vitest"
import { runCommand } from "./support/run.js"
import { workspaceRoot } from "./support/workspace.js"

interface Plan {
  readonly changesets: number
  readonly packages: ReadonlyArray<{ readonly name: string; readonly from: string; readonly version: string; readonly tarball: string }>
  readonly problems: ReadonlyArray<string>
}

const releaseDry = () => runCommand(process.execPath, [join(workspaceRoot, "tools", "release-dry.mjs")], { cwd: workspaceRoot })

it("versions and packs every published package from the pending changesets, without publishing", async () => {
  const { status, stderr, stdout } = await releaseDry()
  expect(status, stdout + stderr).toBe(0)
  const plan = JSON.parse(stdout.trim().split("\n").at(-1)!) as Plan
  expect(plan.problems).toEqual([])
  expect(plan.packages.map((p) => p.name).sort()).toEqual(["@lagrello/cli", "@lagrello/client", "@lagrello/core", "@lagrello/nest"])
  if (plan.changesets > 0) {
    for (const p of plan.packages) {
      expect(p.version, p.name).not.toBe(p.from)
      expect(p.tarball).toBe(`${p.name.slice(1).replace("/", "-")}-${p.version}.tgz`)
    }
  }
}, 120_000)
