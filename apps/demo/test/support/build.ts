/**
 * Vitest global setup: compiles the demo to dist/ (its dependencies are built by Nx, `^build`),
 * so that the end-to-end tests start the real server, `node dist/main.js`, as a child process.
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
}
