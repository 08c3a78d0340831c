/**
 * Every `npm install` line of the guides and the package READMEs pins the packages whose newest
 * major does not fit: unpinned, `effect` resolves to 4.x (these packages need Effect 3) and npm
 * spends minutes on ERESOLVE; `typescript` resolves to 7; NestJS to whatever is newest. The lines
 * that the guide test runs are exercised there; this checks all of them, run or not.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { workspaceRoot } from "./support/workspace.js"

const documents = [
  ...readdirSync(join(workspaceRoot, "docs/guides")).filter((f) => f.endsWith(".md")).map((f) => `docs/guides/${f}`),
  ...["core", "client", "nest", "cli"].map((p) => `packages/${p}/README.md`)
]

/** The packages of an `npm install` / `npm i` line, with their version ranges ("" when none). */
const installLines = (text: string) =>
  text
    .split("\n")
    .map((line) => line.replace(/\s#.*$/, "").trim())
    .filter((line) => /^npm (install|i)\s/.test(line) && !/^npm install-scripts/.test(line))
    .map((line) => ({
      line,
      packages: line
        .split(/\s+/)
        .slice(2)
        .filter((word) => !word.startsWith("-"))
        .map((word) => {
          const at = word.lastIndexOf("@")
          return at > 0 ? { name: word.slice(0, at), range: word.slice(at + 1) } : { name: word, range: "" }
        })
    }))

const pins: Record<string, RegExp> = {
  effect: /^\^3\.22$/,
  "@effect/platform": /^\^0\.97$/,
  typescript: /^~5\.9$/,
  "@nestjs/common": /^\^12\.5$/,
  "@nestjs/core": /^\^12\.5$/,
  "@nestjs/platform-fastify": /^\^12\.5$/,
  "@nestjs/platform-express": /^\^12\.5$/,
  // @effect/opentelemetry 0.64 (Effect 3) wants the OpenTelemetry SDK 2.x and its 0.2xx exporters.
  "@effect/opentelemetry": /^\^0\.64$/,
  "@opentelemetry/api": /^~1\.9$/,
  "@opentelemetry/resources": /^\^2$/,
  "@opentelemetry/sdk-trace-base": /^\^2$/,
  "@opentelemetry/sdk-trace-node": /^\^2$/,
  "@opentelemetry/sdk-metrics": /^\^2$/,
  "@opentelemetry/exporter-trace-otlp-http": /^\^0\.2\d\d$/,
  "@opentelemetry/exporter-metrics-otlp-http": /^\^0\.2\d\d$/
}

describe.each(documents)("%s", (document) => {
  const lines = installLines(readFileSync(join(workspaceRoot, document), "utf8"))

  it("pins effect, @effect/platform, TypeScript, NestJS and OpenTelemetry in every install line", () => {
    for (const { line, packages } of lines) {
      for (const { name, range } of packages) {
        const pin = pins[name]
        if (pin !== undefined) expect(range, `${document}: ${line}`).toMatch(pin)
      }
    }
  })
})

it("finds the install lines (the guide's and each package README's)", () => {
  const all = documents.flatMap((d) => installLines(readFileSync(join(workspaceRoot, d), "utf8")))
  expect(all.filter((l) => l.packages.some((p) => p.name === "effect")).length).toBeGreaterThanOrEqual(5)
})
