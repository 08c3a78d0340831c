import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Builds the CLI (the bin loads dist/) and checks the demo's bundle, which the tests start.
    globalSetup: ["test/support/setup.ts"],
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
