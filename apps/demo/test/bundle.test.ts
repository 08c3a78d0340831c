/** The production artefact, dist/bundle/main.mjs (built by the global setup, as `npm run build`). */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const bundle = fileURLToPath(new URL("../dist/bundle/main.mjs", import.meta.url))

describe("the bundle", () => {
  it("is ASCII, so V8 keeps its source at one byte per character (half the memory)", () => {
    const text = readFileSync(bundle, "utf8")
    expect(text.length).toBeGreaterThan(1_000_000)
    const outside = [...text.matchAll(/[\u0080-\uffff]/g)].slice(0, 3).map((m) => text.slice(m.index - 30, m.index + 10))
    expect(outside).toEqual([])
  })
})
