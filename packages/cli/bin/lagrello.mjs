#!/usr/bin/env node
// The `lagrello` command: runs the built CLI (dist/main.js). In the repository, a checkout that
// was not built yet (right after `npm ci`) is built once first, with what it depends on.
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const main = new URL("../dist/main.js", import.meta.url)
const workspaceRoot = fileURLToPath(new URL("../../../", import.meta.url))

if (!existsSync(main)) {
  const nx = `${workspaceRoot}node_modules/.bin/nx`
  if (existsSync(`${workspaceRoot}nx.json`) && existsSync(nx)) {
    process.stderr.write("lagrello: building @lagrello/cli and what it needs (once, after a fresh checkout)\n")
    try {
      execFileSync(nx, ["run", "@lagrello/cli:build", "--outputStyle=static"], { cwd: workspaceRoot, stdio: ["ignore", "ignore", "inherit"] })
    } catch {
      process.stderr.write("lagrello: the build failed; run npm run build and try again\n")
      process.exit(1)
    }
  } else {
    process.stderr.write("lagrello: @lagrello/cli is not built (dist/main.js is missing): run npm run build\n")
    process.exit(1)
  }
}

const { run } = await import(main.href)
process.exitCode = await run(process.argv)
