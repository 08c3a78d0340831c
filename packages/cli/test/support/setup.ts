/**
 * Vitest global setup: builds the CLI (tsc to dist/, what the bin loads) and makes sure the demo's
 * bundle exists (the tests start it as the running server); Nx builds both before `test`.
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

export default function setup(): void {
  const root = fileURLToPath(new URL("../..", import.meta.url))
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  const built = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, encoding: "utf8" })
  if (built.status !== 0) throw new Error(`Building the CLI failed:\n${built.stdout}${built.stderr}`)
  const demo = fileURLToPath(new URL("../../../../apps/demo/dist/bundle/main.mjs", import.meta.url))
  if (!existsSync(demo)) {
    const workspace = fileURLToPath(new URL("../../../..", import.meta.url))
    const nx = spawnSync(`${workspace}node_modules/.bin/nx`, ["run", "@lagrello/demo:build", "--outputStyle=static"], {
      cwd: workspace,
      encoding: "utf8"
    })
    if (nx.status !== 0) throw new Error(`Building the demo failed:\n${nx.stdout}${nx.stderr}`)
  }
}
