import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Packs the three packages once (into a temporary folder) for every test file.
    globalSetup: ["test/support/pack.ts"],
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    // Installing into a fresh app builds better-sqlite3 from source: minutes, not seconds.
    testTimeout: 60_000,
    hookTimeout: 900_000,
    // Two test files at a time (the machines have two cores): the installs wait on npm and the disk
    // as much as on the compiler, and CI caches the native builds (.ci/run).
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1
  }
})
