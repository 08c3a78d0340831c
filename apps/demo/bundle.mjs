#!/usr/bin/env node
// The demo's production artefact: dist/main.js (tsc's output, decorator metadata included) and
// everything it imports, bundled by esbuild into dist/bundle/main.mjs. Loading one file instead of
// about 2,000 modules is most of a cold start: measured here 1.9 s -> 0.7 s to the first answer
// (docs/performance.md). `npm start`, the end-to-end tests and the benchmarks run the bundle.
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
