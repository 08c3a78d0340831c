/**
 * Vitest global setup: `npm pack` each published package once, into a temporary folder outside
 * the workspace, and hands the tarballs to the tests (`inject("packed")`).
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TestProject } from "vitest/node"
import { packageDirs, type PackedPackage, type PublishedName } from "./workspace.js"

declare module "vitest" {
  export interface ProvidedContext {
    packed: Record<PublishedName, PackedPackage>
  }
}

interface NpmPackResult {
  readonly filename: string
  readonly files: ReadonlyArray<{ readonly path: string }>
}

export default function setup(project: TestProject): () => void {
  const folder = mkdtempSync(join(tmpdir(), "lagrello-packed-"))
  const packed = {} as Record<PublishedName, PackedPackage>
  for (const [name, dir] of Object.entries(packageDirs) as Array<[PublishedName, string]>) {
    const out = execFileSync("npm", ["pack", "--json", "--pack-destination", folder], { cwd: dir, encoding: "utf8" })
    const [result] = JSON.parse(out) as ReadonlyArray<NpmPackResult>
    if (result === undefined) throw new Error(`npm pack printed nothing for ${name}`)
    packed[name] = { name, dir, tarball: join(folder, result.filename), files: result.files.map((f) => f.path) }
  }
  project.provide("packed", packed)
  return () => rmSync(folder, { recursive: true, force: true })
}
