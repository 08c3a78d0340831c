import swc from "unplugin-swc"
import { defineConfig } from "vitest/config"

export default defineConfig({
  // NestJS injects constructor parameters by their decorator metadata, which esbuild does not emit.
  plugins: [swc.vite({ module: { type: "es6" }, jsc: { transform: { decoratorMetadata: true, legacyDecorator: true } } })],
  test: {
    include: ["test/**/*.test.ts"],
    // Builds the demo once (dist/main.js), which the end-to-end tests start as a child process.
    globalSetup: ["test/support/build.ts"],
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
