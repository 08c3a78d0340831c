/** Where the published packages live in the workspace, and what a packed one is. */
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

export const workspaceRoot = fileURLToPath(new URL("../../../../", import.meta.url))

export const packageDirs = {
  "@lagrello/core": join(workspaceRoot, "packages/core"),
  "@lagrello/client": join(workspaceRoot, "packages/client"),
  "@lagrello/nest": join(workspaceRoot, "packages/nest"),
  "@lagrello/cli": join(workspaceRoot, "packages/cli")
} as const

export type PublishedName = keyof typeof packageDirs

export interface PackedPackage {
  readonly name: PublishedName
  readonly dir: string
  readonly tarball: string
  /** The paths inside the tarball, relative to the package root. */
  readonly files: ReadonlyArray<string>
}

export interface Manifest {
  readonly name: string
  readonly version: string
  readonly type?: string
  readonly exports?: Record<string, unknown>
  readonly files?: ReadonlyArray<string>
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>
  readonly devDependencies?: Record<string, string>
  readonly engines?: Record<string, string>
}

export const readManifest = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest

/** The manifest of a package installed in the workspace (hoisted, or under a project). */
export const installedManifest = (name: string): Manifest => {
  const candidates = [workspaceRoot, ...Object.values(packageDirs), join(workspaceRoot, "apps/demo")].map((dir) =>
    join(dir, "node_modules", name, "package.json")
  )
  const found = candidates.find((path) => existsSync(path))
  if (found === undefined) throw new Error(`${name} is not installed in the workspace`)
  return JSON.parse(readFileSync(found, "utf8")) as Manifest
}

/**
 * The version of a public package installed in the workspace: the temporary apps pin the same
 * versions, so that what is tested there is what the workspace's own tests ran with (and npm can
 * take them from its cache).
 */
export const installedVersion = (name: string): string => installedManifest(name).version

/** The folder of a workspace binary (`node_modules/.bin/<name>`). */
export const bin = (name: string): string => join(workspaceRoot, "node_modules", ".bin", name)

export const here = (url: string): string => dirname(fileURLToPath(url))
