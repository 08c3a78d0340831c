/**
 * Vitest global setup: builds the demo as `npm run build` does (tsc to dist/, then the bundle
 * dist/bundle/main.mjs; its dependencies are built by Nx, `^build`), so that the end-to-end tests
 * start the real server, the artefact `npm start` runs, as a child process.
 */
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

export default function setup(): void {
  const root = fileURLToPath(new URL("../..", import.meta.url))
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, encoding: "utf8" })
  if (result.status !== 0) {
    throw new Error(`Building the demo failed:\n${result.stdout}${result.stderr}`)
  }
  const bundled = spawnSync(process.execPath, ["bundle.mjs"], { cwd: root, encoding: "utf8" })
  if (bundled.status !== 0) {
    throw new Error(`Bundling the demo failed:\n${bundled.stdout}${bundled.stderr}`)
  }
}
