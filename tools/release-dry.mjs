#!/usr/bin/env node
// `npm run release:dry`: cuts a release without publishing it. In a copy of the workspace (the
// working tree is left as it is), `changeset version` applies the pending changesets (versions,
// CHANGELOG.md per package, internal ranges), then `npm pack` packs each published package as npm
// would publish it. Prints the plan as JSON on the last line; exits 1 when something is wrong.
//
// Needs the packages built (`npm run build`): the tarballs carry dist/.
import { execFileSync } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const root = new URL("..", import.meta.url).pathname
const published = ["packages/core", "packages/client", "packages/nest", "packages/cli"]
const readJson = (path) => JSON.parse(readFileSync(path, "utf8"))

const workspaceDirs = readJson(join(root, "package.json")).workspaces.flatMap((pattern) =>
  pattern.endsWith("/*")
    ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(root, pattern.slice(0, -2), d.name, "package.json")))
        .map((d) => join(pattern.slice(0, -2), d.name))
    : [pattern]
)

const copy = mkdtempSync(join(tmpdir(), "lagrello-release-"))
const problems = []
try {
  cpSync(join(root, "package.json"), join(copy, "package.json"))
  cpSync(join(root, ".changeset"), join(copy, ".changeset"), { recursive: true })
  symlinkSync(join(root, "node_modules"), join(copy, "node_modules"), "dir")
  for (const dir of workspaceDirs) {
    // Only what changesets reads and npm packs: manifests, changelogs, READMEs, licences, builds.
    for (const entry of ["package.json", "CHANGELOG.md", "README.md", "LICENSE", "dist", "src"]) {
      const from = join(root, dir, entry)
      if (existsSync(from)) cpSync(from, join(copy, dir, entry), { recursive: true, filter: (f) => !f.endsWith(".tsbuildinfo") })
    }
  }
  for (const dir of published) {
    if (!existsSync(join(root, dir, "dist"))) throw new Error(`${dir}/dist is missing: run \`npm run build\` first`)
  }

  const before = Object.fromEntries(published.map((dir) => [dir, readJson(join(copy, dir, "package.json")).version]))
  const pending = readdirSync(join(copy, ".changeset")).filter((f) => f.endsWith(".md") && f !== "README.md")
  try {
    execFileSync(join(root, "node_modules", ".bin", "changeset"), ["version"], { cwd: copy, stdio: ["ignore", "inherit", "inherit"] })
  } catch {
    // changeset printed why (e.g. a changeset mixing ignored and published packages).
    console.log(JSON.stringify({ changesets: pending.length, packages: [], problems: ["changeset version failed"] }))
    process.exit(1)
  }

  const left = readdirSync(join(copy, ".changeset")).filter((f) => f.endsWith(".md") && f !== "README.md")
  if (left.length > 0) problems.push(`changesets left unapplied: ${left.join(", ")}`)

  const manifests = Object.fromEntries(published.map((dir) => [dir, readJson(join(copy, dir, "package.json"))]))
  const versions = Object.fromEntries(Object.values(manifests).map((m) => [m.name, m.version]))
  const plan = []
  for (const dir of published) {
    const manifest = manifests[dir]
    const changelog = join(copy, dir, "CHANGELOG.md")
    const bumped = manifest.version !== before[dir]
    if (bumped && !existsSync(changelog)) problems.push(`${manifest.name}: version bumped without a CHANGELOG.md`)
    if (bumped && !readFileSync(changelog, "utf8").includes(`## ${manifest.version}`)) {
      problems.push(`${manifest.name}: CHANGELOG.md has no section for ${manifest.version}`)
    }
    // Internal dependencies must name a range that the version being released satisfies.
    for (const [name, range] of Object.entries({ ...manifest.dependencies, ...manifest.peerDependencies })) {
      if (/^(workspace|file|link):/.test(range)) problems.push(`${manifest.name}: ${name} is "${range}"`)
      if (name in versions && range !== `^${versions[name]}`) {
        problems.push(`${manifest.name}: depends on ${name} "${range}", not the released ^${versions[name]}`)
      }
    }
    const [packed] = JSON.parse(
      execFileSync("npm", ["pack", "--json", "--dry-run"], { cwd: join(copy, dir), encoding: "utf8" })
    )
    plan.push({
      name: manifest.name,
      from: before[dir],
      version: manifest.version,
      tarball: packed.filename,
      files: packed.entryCount,
      bytes: packed.size
    })
  }
  for (const p of plan) console.log(`${p.name}: ${p.from} -> ${p.version} (${p.tarball}, ${p.files} files, ${p.bytes} bytes)`)
  for (const problem of problems) console.error(`release problem: ${problem}`)
  console.log(JSON.stringify({ changesets: pending.length, packages: plan, problems }))
  process.exitCode = problems.length === 0 ? 0 : 1
} finally {
  rmSync(copy, { recursive: true, force: true })
}
