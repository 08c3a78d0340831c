/**
 * How a long poll on a handoff learns that it may have changed, shared by the storage adapters.
 *
 * A decision taken in this process wakes its waiters at once ({@link HandoffWatch.signal}). A
 * decision taken on another replica (or another process on the same SQLite file) is found by a
 * bounded poll: while anyone in this process waits, one fiber reads, every `intervalMillis`
 * (250 ms), which of the waited handoffs are still undecided, with ONE query for all of them, and
 * wakes the waiters of the others.
 *
 * Why a poll rather than PostgreSQL's LISTEN/NOTIFY: it needs no dedicated connection per
 * replica and works through every connection pooler (PgBouncer in transaction mode drops
 * LISTEN), the same code serves SQLite processes sharing a file (which have no notifications),
 * and its load is bounded per replica, not per waiter: at most four small indexed queries a
 * second while at least one long poll waits, none otherwise. It costs at most `intervalMillis` of
 * latency (SPEC 5.3 asks for less than a second). No connection is held between polls.
 *
 * @since 0.0.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { Unavailable } from "../domain/errors.js"

/** The default interval of the poll, in milliseconds. */
export const handoffPollMillis = 250

export interface HandoffWatch {
  /** See `StorageService.watchHandoff`. */
  readonly watch: (idHash: string) => Effect.Effect<Effect.Effect<void>, never, Scope.Scope>
  /** Wakes the waiters of a handoff of this process (call it once the change is committed). */
  readonly signal: (idHash: string) => void
}

/**
 * A watch over `stillPending`, which answers which of the given handoff id hashes are still
 * undecided with a live link (a missing one is not). A poll that fails is tried again at the
 * next interval; waiters then wait for their own deadline.
 */
export const makeHandoffWatch = (
  stillPending: (idHashes: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>, Unavailable>,
  intervalMillis: number = handoffPollMillis
): HandoffWatch => {
  // Each waiter has a sliding queue of one: signals that arrive while it reads coalesce.
  const waiters = new Map<string, Set<Queue.Queue<void>>>()
  let size = 0
  let polling = false

  const signal = (idHash: string) => {
    for (const queue of waiters.get(idHash) ?? []) Queue.unsafeOffer(queue, undefined)
  }

  const poll = Effect.gen(function* () {
    const ids = [...waiters.keys()]
    if (ids.length === 0) return
    const pending = yield* stillPending(ids).pipe(Effect.orElseSucceed(() => new Set(ids)))
    for (const id of ids) if (!pending.has(id)) signal(id)
  }).pipe(
    // A bug in a poll must not end the poller (waiters would then wait for their deadlines only).
    Effect.catchAllCause((cause) => Effect.logWarning("Handoff poll failed; trying again", cause))
  )

  // A daemon (it belongs to no one request) that ends at the first interval without waiters. The
  // check and the flag are one synchronous step, as is a registration's, so exactly one runs
  // while anyone waits.
  const poller: Effect.Effect<void> = Effect.zipRight(
    Effect.sleep(Duration.millis(intervalMillis)),
    Effect.suspend(() => {
      if (size === 0) {
        polling = false
        return Effect.void
      }
      return Effect.zipRight(poll, poller)
    })
  )

  const register = (idHash: string, queue: Queue.Queue<void>) =>
    Effect.suspend(() => {
      const set = waiters.get(idHash) ?? new Set()
      set.add(queue)
      waiters.set(idHash, set)
      size += 1
      if (polling) return Effect.void
      polling = true
      // Forked from the first waiter's request: without its tracer, so that the polls of later
      // waiters are not recorded under a request that ended long ago.
      return Effect.asVoid(Effect.forkDaemon(Effect.withTracerEnabled(poller, false)))
    })

  const unregister = (idHash: string, queue: Queue.Queue<void>) =>
    Effect.suspend(() => {
      const set = waiters.get(idHash)
      if (set?.delete(queue)) size -= 1
      if (set?.size === 0) waiters.delete(idHash)
      return Queue.shutdown(queue)
    })

  const watch = (idHash: string) =>
    Effect.map(
      Effect.acquireRelease(
        Effect.tap(Queue.sliding<void>(1), (queue) => register(idHash, queue)),
        (queue) => unregister(idHash, queue)
      ),
      (queue) => Queue.take(queue)
    )

  return { watch, signal }
}
