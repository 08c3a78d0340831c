import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layerSqlite } from "../../src/storage/sqlite/index.js"
import { Storage } from "../../src/storage/Storage.js"
import { operatorSuite } from "./operator-suite.js"
import { eventsSuite } from "./events-suite.js"
import { webhooksSuite } from "./webhooks-suite.js"
import { recoverySuite } from "./recovery-suite.js"
import { behaviourSuite } from "./suite.js"

// A fresh database file per test, removed afterwards.
const freshFile = () =>
  Layer.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "lagrello-suite-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      ),
      (dir) => layerSqlite({ filename: join(dir, "lagrello.db") })
    )
  ) satisfies Layer.Layer<Storage, unknown>

behaviourSuite("SQLite", freshFile)
recoverySuite("SQLite", freshFile)
operatorSuite("SQLite", freshFile)
eventsSuite("SQLite", freshFile)
webhooksSuite("SQLite", freshFile)
