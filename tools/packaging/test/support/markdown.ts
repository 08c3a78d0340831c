/**
 * The code blocks of a Markdown document that a test runs or writes as they are written: each is
 * marked by an HTML comment on the line before its fence (invisible when the document is
 * rendered):
 *
 * - `<!-- guide-test: run -->` before a shell block: its commands are run;
 * - `<!-- guide-test: file src/main.ts -->` before a code block: its text is that file;
 * - either followed by `(variant)`, e.g. `<!-- guide-test: file src/main.ts (express) -->`: the
 *   block belongs to that variant only (blocks without one belong to every variant).
 */
import { readFileSync } from "node:fs"

export interface MarkedBlock {
  readonly kind: "run" | "file"
  /** For `file` blocks: the path relative to the app's folder. */
  readonly path: string | undefined
  readonly variant: string | undefined
  readonly lang: string
  readonly text: string
  /** 1-based line of the marker, for messages. */
  readonly line: number
}

const MARKER = /^<!-- guide-test: (run|file ([^\s()]+))(?: \(([a-z0-9-]+)\))? -->$/

/** The marked blocks of a document, in document order. Throws on a marker without a fence after it. */
export const markedBlocks = (path: string): ReadonlyArray<MarkedBlock> => {
  const lines = readFileSync(path, "utf8").split("\n")
  const blocks: Array<MarkedBlock> = []
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i]!.trim())
    if (marker === null) {
      if (lines[i]!.includes("guide-test:")) throw new Error(`${path}:${i + 1}: a guide-test marker that does not parse`)
      continue
    }
    const fence = /^```(\w*)\s*$/.exec(lines[i + 1] ?? "")
    if (fence === null) throw new Error(`${path}:${i + 1}: the guide-test marker is not followed by a code fence`)
    const end = lines.findIndex((l, j) => j > i + 1 && /^```\s*$/.test(l))
    if (end === -1) throw new Error(`${path}:${i + 2}: the code fence is not closed`)
    blocks.push({
      kind: marker[1] === "run" ? "run" : "file",
      path: marker[2],
      variant: marker[3],
      lang: fence[1] ?? "",
      text: `${lines.slice(i + 2, end).join("\n")}\n`,
      line: i + 1
    })
    i = end
  }
  return blocks
}

/** The blocks of a variant: those without one and those of this one. */
export const blocksOf = (blocks: ReadonlyArray<MarkedBlock>, variant: string) =>
  blocks.filter((b) => b.variant === undefined || b.variant === variant)

/** Every fenced block of a language in a document (unmarked ones too), in order. */
export const fencedBlocks = (path: string, lang: string): ReadonlyArray<string> =>
  [...readFileSync(path, "utf8").matchAll(/^```(\w*)\n([\s\S]*?)^```\s*$/gm)].filter((m) => m[1] === lang).map((m) => m[2]!)
