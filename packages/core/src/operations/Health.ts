/**
 * Readiness of a server: whether its database answers.
 *
 * @since 0.0.0
 */
import * as Effect from "effect/Effect"
import { Unavailable } from "../domain/errors.js"
import { Storage } from "../storage/Storage.js"

/**
 * Succeeds when the database answers a cheap query (one indexed read of a tenant id that never
 * exists) within `timeout` (default 2 s), else fails with Unavailable. The query is disconnected
 * from the timeout: an interrupted PostgreSQL query is cancelled through the same, maybe
 * unreachable, network, which took 5 s more in a blackhole; the probe answers at its timeout and
 * leaves that cancellation behind.
 * @since 0.0.0
 */
export const ready = (timeout: `${number} seconds` = "2 seconds"): Effect.Effect<void, Unavailable, Storage> =>
  Effect.disconnect(Effect.flatMap(Storage, (storage) => storage.getTenant("health-probe"))).pipe(
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => new Unavailable({ message: `The database did not answer within ${timeout}` })
    }),
    Effect.asVoid
  )
