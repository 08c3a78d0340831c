/** Command lines of the documents with the packed tarballs in place of the `@lagrello/*` names. */
import type { PackedPackage, PublishedName } from "./workspace.js"

/** The `@lagrello/*` packages each one depends on: they are not on the registry, so their tarballs come along. */
const lagrelloDependencies: Record<PublishedName, ReadonlyArray<PublishedName>> = {
  "@lagrello/core": [],
  "@lagrello/client": ["@lagrello/core"],
  "@lagrello/nest": ["@lagrello/core", "@lagrello/client"],
  "@lagrello/cli": ["@lagrello/core"]
}

/**
 * A command line with each `@lagrello/*` package name (with or without a version) replaced by its
 * tarball, and the tarballs of the `@lagrello/*` packages those depend on added when not named.
 */
export const tarballsIn = (packed: Record<PublishedName, PackedPackage>) => (line: string): string => {
  const named = new Set<PublishedName>()
  const replaced = line.replace(/(?<=^|\s)(@lagrello\/(?:core|client|nest|cli))(?:@\S+)?(?=\s|$)/g, (_, name: PublishedName) => {
    named.add(name)
    return packed[name].tarball
  })
  const missing = [...named].flatMap((n) => lagrelloDependencies[n]).filter((n, i, all) => !named.has(n) && all.indexOf(n) === i)
  if (missing.length === 0) return replaced
  // Before a trailing comment, if any.
  const hash = replaced.search(/\s#/)
  const extra = missing.map((n) => packed[n].tarball).join(" ")
  return hash === -1 ? `${replaced} ${extra}` : `${replaced.slice(0, hash)} ${extra}${replaced.slice(hash)}`
}
