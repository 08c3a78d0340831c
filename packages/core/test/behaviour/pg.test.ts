import { Effect, Layer } from "effect"
import { makePgStorage } from "../../src/storage/pg/index.js"
import { Storage } from "../../src/storage/Storage.js"
import { describePostgres } from "../support/postgres.js"
import { operatorSuite } from "./operator-suite.js"
import { eventsSuite } from "./events-suite.js"
import { webhooksSuite } from "./webhooks-suite.js"
import { recoverySuite } from "./recovery-suite.js"
import { behaviourSuite } from "./suite.js"

// One database for this file; every test starts from empty tables (migrated once, truncated at
// each layer's start) over a pool of its own, closed when the test ends.
describePostgres("PostgreSQL storage", (db) => {
  const fresh = () =>
    Layer.scoped(
      Storage,
      Effect.tap(makePgStorage({ url: db.url }), () => Effect.promise(() => db.truncate()))
    ) satisfies Layer.Layer<Storage, unknown>

  behaviourSuite("PostgreSQL", fresh)
  recoverySuite("PostgreSQL", fresh)
  operatorSuite("PostgreSQL", fresh)
  eventsSuite("PostgreSQL", fresh)
  webhooksSuite("PostgreSQL", fresh)
})
