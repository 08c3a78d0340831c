/**
 * The manifests of the published packages, checked against what the tarballs hold: every module
 * a published file imports is a declared dependency or peer, and every `exports` entry names its
 * types and its code, both present in the tarball.
 */
import { readFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { join, posix } from "node:path"
import { describe, expect, inject, it } from "vitest"
import { installedManifest, type PackedPackage, readManifest } from "./support/workspace.js"

const packed = inject("packed")

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)["']([^"'\s]+)["']/g

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`), or undefined. */
const packageOf = (specifier: string): string | undefined => {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:")) return undefined
  const parts = specifier.split("/")
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!
  return builtinModules.includes(name) ? undefined : name
}

/** Every package imported by a published `.js` or `.d.ts` file, with one file that imports it. */
const importedPackages = (pkg: PackedPackage): Map<string, string> => {
  const found = new Map<string, string>()
  for (const file of pkg.files.filter((f) => f.startsWith("dist/") && /\.(js|d\.ts)$/.test(f))) {
    const text = readFileSync(join(pkg.dir, file), "utf8")
    for (const match of text.matchAll(IMPORT)) {
      const name = packageOf(match[1]!)
      if (name !== undefined && !found.has(name)) found.set(name, file)
    }
  }
  return found
}

const targetsOf = (entry: unknown): ReadonlyArray<string> =>
  typeof entry === "string"
    ? [entry]
    : typeof entry === "object" && entry !== null
      ? Object.values(entry).flatMap(targetsOf)
      : []

describe.each(Object.values(packed))("$name", (pkg) => {
  const manifest = readManifest(pkg.dir)
  // Read once per package (every published file), for the two tests below.
  const imported = importedPackages(pkg)

  it("is an ES module package for Node.js >= 20.19 with a README and a licence", () => {
    expect(manifest.type).toBe("module")
    expect(manifest.engines?.["node"]).toBe(">=20.19")
    expect(pkg.files).toContain("README.md")
    expect(pkg.files).toContain("LICENSE")
  })

  it("declares every package its published files import (as a dependency or a peer)", () => {
    const declared = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
      manifest.name
    ])
    const undeclared = [...imported].filter(([name]) => !declared.has(name))
    expect(undeclared.map(([name, file]) => `${name} (imported by ${file})`)).toEqual([])
  })

  it("declares nothing it neither imports nor provides as a peer of what it declares", () => {
    const declared = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })
    // e.g. @lagrello/nest provides the optional peers of @lagrello/core (SQLite, PostgreSQL, SMTP),
    // and shares reflect-metadata and rxjs with NestJS.
    const peersOfDeclared = new Set(declared.flatMap((name) => Object.keys(installedManifest(name).peerDependencies ?? {})))
    expect(declared.filter((name) => !imported.has(name) && !peersOfDeclared.has(name))).toEqual([])
  })

  it("names `types` first and `default` last in every `exports` entry, both in the tarball", () => {
    const entries = Object.entries(manifest.exports ?? {}).filter(([path]) => path !== "./package.json")
    expect(entries.length).toBeGreaterThan(0)
    for (const [path, entry] of entries) {
      expect(typeof entry, path).toBe("object")
      const keys = Object.keys(entry as object)
      expect(keys[0], `${path}: first condition`).toBe("types")
      expect(keys[keys.length - 1], `${path}: last condition`).toBe("default")
    }
    const missing = Object.values(manifest.exports ?? {})
      .flatMap(targetsOf)
      .map((target) => target.replace(/^\.\//, ""))
      .filter((target) => !pkg.files.includes(target))
    expect(missing).toEqual([])
  })

  it("ships the sources its source maps and declaration maps point at", () => {
    const unresolved = pkg.files
      .filter((f) => f.endsWith(".map"))
      .flatMap((map) => {
        const { sources } = JSON.parse(readFileSync(join(pkg.dir, map), "utf8")) as { sources: ReadonlyArray<string> }
        return sources.map((source) => posix.join(posix.dirname(map), source))
      })
      .filter((source) => !pkg.files.includes(source))
    expect(unresolved).toEqual([])
  })

  it("leaves tests, build info and workspace files out of the tarball", () => {
    expect(pkg.files.filter((f) => /(^|\/)(test|tests|node_modules)\/|\.tsbuildinfo$|tsconfig/.test(f))).toEqual([])
  })
})

