/**
 * The three tarballs installed, with public packages only, into fresh applications in temporary
 * folders outside the workspace: a NestJS 12 application (ES modules) and a NestJS 11 one
 * (CommonJS, loading the ES module packages through `require`, which Node.js >= 20.19 does). Each
 * compiles against the published types, imports `LagrelloModule` with SQLite, and is driven over
 * HTTP with `@lagrello/client` on both adapters (fixtures/app/src/main.ts is the journey; the same
 * sources are compiled for both).
 */
import { existsSync, lstatSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { createApp, npmInstall, type TemporaryApp } from "./support/app.js"
import type { Completed } from "./support/run.js"
import { here, installedVersion } from "./support/workspace.js"

const packed = inject("packed")
const fixture = join(here(import.meta.url), "..", "fixtures", "app")

const workspaceVersions = (names: ReadonlyArray<string>) =>
  Object.fromEntries(names.map((n) => [n, installedVersion(n)]))

interface AppKind {
  readonly title: string
  readonly type: "module" | "commonjs"
  /** The NestJS packages, at the workspace's versions (12) or the latest 11. */
  readonly nest: Record<string, string>
}

const nest12 = workspaceVersions(["@nestjs/common", "@nestjs/core", "@nestjs/platform-express", "@nestjs/platform-fastify"])
const kinds: ReadonlyArray<AppKind> = [
  { title: "a NestJS 12 application (ES modules)", type: "module", nest: nest12 },
  {
    title: "a NestJS 11 application (CommonJS)",
    type: "commonjs",
    nest: Object.fromEntries(Object.keys(nest12).map((name) => [name, "^11.1.0"]))
  }
]

describe.each(kinds)("$title, outside the workspace", (kind) => {
  let app: TemporaryApp
  let install: Completed

  beforeAll(async () => {
    app = createApp({
      fixture,
      manifest: {
        name: "lagrello-packaging-app",
        private: true,
        type: kind.type,
        dependencies: {
          "@lagrello/client": `file:${packed["@lagrello/client"].tarball}`,
          "@lagrello/core": `file:${packed["@lagrello/core"].tarball}`,
          "@lagrello/nest": `file:${packed["@lagrello/nest"].tarball}`,
          ...kind.nest,
          ...workspaceVersions(["@effect/platform", "effect", "reflect-metadata", "rxjs"])
        },
        devDependencies: {
          // Not used by the workspace (its projects skip library checks); the app's tsc needs it.
          "@types/express": "^5.0.0",
          ...workspaceVersions(["@types/node", "@types/smtp-server", "smtp-server", "typescript"])
        },
        // npm 11 runs install scripts only when approved: the one native module, built from source.
        allowScripts: { "better-sqlite3": true }
      }
    })
    install = await npmInstall(app)
  })

  afterAll(() => app?.remove())

  it("installs the tarballs, and nothing else from the workspace", () => {
    expect(install.status, install.stderr).toBe(0)
    const lock = JSON.parse(readFileSync(join(app.dir, "package-lock.json"), "utf8")) as {
      packages: Record<string, { resolved?: string; integrity?: string; link?: boolean }>
    }
    const entries = Object.entries(lock.packages).filter(([path]) => path !== "")
    for (const name of ["@lagrello/client", "@lagrello/core", "@lagrello/nest"]) {
      expect(lock.packages[`node_modules/${name}`]?.resolved, name).toMatch(/^file:.*\.tgz$/)
      expect(lstatSync(join(app.dir, "node_modules", name)).isSymbolicLink(), name).toBe(false)
    }
    // Everything else comes from the registry: an integrity hash, no link, no local file.
    const fromElsewhere = entries.filter(
      ([path, entry]) =>
        !path.startsWith("node_modules/@lagrello/") &&
        (entry.link === true || entry.integrity === undefined || /^(file|git|link):/.test(entry.resolved ?? ""))
    )
    expect(fromElsewhere.map(([path]) => path)).toEqual([])
    // One copy of each package whose identity matters (tags, decorators' metadata).
    for (const shared of ["effect", "@nestjs/core", "@nestjs/common", "@lagrello/core"]) {
      const copies = entries.filter(([path]) => path.endsWith(`node_modules/${shared}`))
      expect(copies.map(([path]) => path), shared).toEqual([`node_modules/${shared}`])
    }
  })

  it("builds the native SQLite module it depends on from source", () => {
    expect(existsSync(join(app.dir, "node_modules/better-sqlite3/build/Release/better_sqlite3.node"))).toBe(true)
  })

  it("compiles against the published types (tsc, strict, skipLibCheck off)", async () => {
    const tsc = await app.run(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"])
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0)
  })

  it.each(["fastify", "express"])("serves the v1 API on %s: magic link and TOTP driven by @lagrello/client", async (adapter) => {
    const drive = await app.run(process.execPath, ["dist/main.js"], { env: { ADAPTER: adapter }, timeoutMillis: 60_000 })
    expect(drive.stdout.trim().split("\n"), drive.stderr).toEqual([
      `ok listening (${adapter}, ${kind.type === "module" ? "es module" : "commonjs"})`,
      "ok @lagrello/core/contract loads",
      "ok user created",
      "ok magic link delivered by SMTP",
      "ok magic link verified once",
      "ok TOTP verified once",
      "ok closed"
    ])
    expect(drive.status, drive.stderr).toBe(0)
  })
})
