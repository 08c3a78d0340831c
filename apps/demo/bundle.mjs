#!/usr/bin/env node
// The demo's production artefact: dist/main.js (tsc's output, decorator metadata included) and
// everything it imports, bundled by esbuild into dist/bundle/main.mjs. Loading one file instead of
// about 2,000 modules is most of a cold start: measured here 1.9 s -> 0.7 s to the first answer
// (docs/performance.md). `npm start`, the end-to-end tests and the benchmarks run the bundle.
import { readFileSync, writeFileSync } from "node:fs"
import * as esbuild from "esbuild"

await esbuild.build({
  entryPoints: ["dist/main.js"],
  outfile: "dist/bundle/main.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // No keepNames: it wraps every function expression in a `__name` call that defines its name at
  // run time, per request for closures (about 8 % of the CPU of a request in a profile). Names
  // change only where two modules' top-level names collide; nothing here depends on them (Nest's
  // injection uses class references, errors carry explicit tags and names).
  sourcemap: "linked",
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
  external: [
    // A native module: loaded from node_modules as installed (built from source).
    "better-sqlite3",
    // Optional packages NestJS, Fastify and pg load only when present; the demo uses none of them.
    "pg-native",
    "@nestjs/microservices",
    "@nestjs/microservices/*",
    "@nestjs/websockets",
    "@nestjs/websockets/*",
    "@nestjs/platform-socket.io",
    "@fastify/multipart",
    "@fastify/static",
    "@fastify/view",
    "class-transformer",
    "class-validator"
  ],
  // The bundled CommonJS packages (rxjs, fastify, ...) call require: give the ES module one.
  banner: { js: "import { createRequire as __lagrelloCreateRequire } from 'node:module'; const require = __lagrelloCreateRequire(import.meta.url);" }
})

// V8 keeps a module's source text for as long as the module lives, at one byte per character only
// if every character fits in Latin-1. esbuild escapes what is outside ASCII in strings, templates,
// regular expressions and names, but not in the comments it keeps, and two dashes in those made
// the 7.8 MB bundle a 15.6 MB string. Escaping them keeps the same meaning anywhere in the text.
const bundlePath = "dist/bundle/main.mjs"
const text = readFileSync(bundlePath, "utf8")
if (/[\u0080-\uffff]/.test(text)) {
  writeFileSync(bundlePath, text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`))
}
