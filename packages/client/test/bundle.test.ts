/**
 * The built package as a user's bundler sees it: `import { createLagrelloClient } from
 * "@lagrello/client"` bundled by esbuild for the browser. Nothing it pulls in may be a Node
 * built-in (esbuild refuses to resolve them for `platform: "browser"`, and the metafile lists every
 * input), and of the core only the browser-safe `contract` entry (with the domain it uses).
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { builtinModules, createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"
import { build } from "esbuild"
import { beforeAll, describe, expect, it } from "vitest"

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..")
const require = createRequire(import.meta.url)

const newest = (dir: string): number =>
  Math.max(
    ...readdirSync(dir, { withFileTypes: true }).map((entry) =>
      entry.isDirectory() ? newest(join(dir, entry.name)) : statSync(join(dir, entry.name)).mtimeMs
    )
  )

// `nx test` builds the package first; when run alone, build it here if dist is missing or stale.
beforeAll(() => {
  const built = join(packageDir, "dist", "index.js")
  if (!existsSync(built) || statSync(built).mtimeMs < newest(join(packageDir, "src"))) {
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
      cwd: packageDir,
      stdio: "inherit"
    })
  }
}, 120_000)

const bundle = (contents: string) =>
  build({
    stdin: { contents, resolveDir: packageDir, loader: "js" },
    bundle: true,
    platform: "browser",
    format: "esm",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "silent"
  })

const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))

describe("the built package in a browser bundle", () => {
  it("createLagrelloClient pulls in no Node built-in and only the core's contract", async () => {
    const result = await bundle(`import { createLagrelloClient } from "@lagrello/client"\nglobalThis.lagrello = createLagrelloClient`)
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs.filter((input) => input.startsWith("node:") || builtins.has(input))).toEqual([])
    // The package was resolved through its `exports`, to its build.
    expect(inputs).toContain("dist/index.js")
    const core = inputs.filter((input) => input.includes("core/dist/"))
    expect(core.length).toBeGreaterThan(0)
    expect(core.filter((input) => !/core\/dist\/(contract|domain)\//.test(input))).toEqual([])
    expect(inputs.filter((input) => /better-sqlite3|nodemailer|qrcode|otpauth|@effect\/platform-node/.test(input))).toEqual([])

    const output = result.outputFiles[0]!.contents
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`
    console.log(`createLagrelloClient, browser, minified: ${kb(output.length)}, gzip: ${kb(gzipSync(output).length)}`)
    expect(output.length).toBeLessThan(800 * 1024)
  })

  it("the Effect service bundles for the browser too", async () => {
    const result = await bundle(`import { LagrelloClient } from "@lagrello/client"\nglobalThis.lagrello = LagrelloClient`)
    expect(Object.keys(result.metafile.inputs).filter((input) => builtins.has(input))).toEqual([])
  })

  it("the check has teeth: the core's main entry (Node only) does not bundle for the browser", async () => {
    await expect(bundle(`import * as core from "@lagrello/core"\nglobalThis.core = core`)).rejects.toThrow(
      /Could not resolve "(node:)?[a-z_]+"/
    )
  })
})
