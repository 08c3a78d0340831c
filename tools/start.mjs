#!/usr/bin/env node
// `npm start`: serves the demo (apps/demo/dist/bundle/main.mjs) in this process. It builds first
// (nx, which builds the packages the demo needs) only when the build is missing or older than a
// source: starting nx costs about a second even when everything is cached, twice the demo's own
// start.
//
// Signals: the root package.json runs this as `exec node tools/start.mjs`, so that npm's shell
// hands over to node and the SIGTERM or SIGINT npm forwards reaches this process (with `sh -c`
// in between, the shell died and left node serving, orphaned). While building, a signal stops
// the build and exits; once serving, the demo's own shutdown hooks handle it.
import { spawn } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"

const root = new URL("..", import.meta.url).pathname
const bundle = join(root, "apps/demo/dist/bundle/main.mjs")

/** The newest modification time under `path` (a file or a folder), skipping build outputs. */
const newest = (path) => {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let latest = 0
  for (const entry of readdirSync(path)) {
    if (entry === "dist" || entry === "node_modules" || entry === "test-results" || entry === "test-output") continue
    latest = Math.max(latest, newest(join(path, entry)))
  }
  return latest
}

// What the bundle is built from: the demo and the packages it bundles, and the shared settings.
const sources = ["apps/demo", "packages/core", "packages/nest", "packages/client", "tsconfig.base.json", "package-lock.json"]
const stale = !existsSync(bundle) || sources.some((source) => newest(join(root, source)) > statSync(bundle).mtimeMs)
if (stale) {
  const build = spawn("npx", ["nx", "run-many", "-t", "build", "-p", "@lagrello/demo", "--outputStyle=static"], {
    cwd: root,
    stdio: "inherit",
    // Its own process group, so that a signal stops nx and every task it started.
    detached: true,
    env: { ...process.env, NX_DAEMON: "false", NX_NO_CLOUD: "true" }
  })
  const stop = (signal) => {
    try {
      process.kill(-build.pid, signal)
    } catch {
      // Already gone.
    }
  }
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
  const [code, signal] = await new Promise((resolve) => build.on("exit", (c, s) => resolve([c, s])))
  process.removeListener("SIGTERM", stop)
  process.removeListener("SIGINT", stop)
  if (signal !== null) process.exit(1)
  if (code !== 0) process.exit(code ?? 1)
}
await import(pathToFileURL(bundle).href)
