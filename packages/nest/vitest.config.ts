import swc from "unplugin-swc"
import { defineConfig } from "vitest/config"

export default defineConfig({
  // NestJS injects constructor parameters by their decorator metadata, which esbuild does not emit.
  plugins: [swc.vite({ module: { type: "es6" }, jsc: { transform: { decoratorMetadata: true, legacyDecorator: true } } })],
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
