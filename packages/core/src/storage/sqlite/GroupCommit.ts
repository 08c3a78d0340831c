/**
 * Group commit for SQLite: the writes that arrive while the event loop is busy are committed
 * together, in one `BEGIN IMMEDIATE` transaction, so that one fsync makes all of them durable.
 *
 * With `synchronous = FULL` every commit waits for the disk (about a millisecond here), and a
 * commit per request caps a busy server at about a thousand writes per second with requests
 * queueing behind each other. Each write still runs alone in its own savepoint: one that fails is
 * rolled back without touching the others, and none is answered before the commit that makes it
 * durable has returned. better-sqlite3 is synchronous, so nothing else can run on the connection
 * between the writes of a group.
 *
 * @since 0.0.0
 */
import type Database from "better-sqlite3"
import * as Effect from "effect/Effect"

interface Job {
  readonly write: () => unknown
  readonly settle: (outcome: Effect.Effect<unknown, unknown>) => void
}

/**
 * The group commit of one connection: `write` runs in the next group and its effect succeeds with
 * what it returned, or fails as `fromThrown` says with what it (or the group's commit) threw. A
 * write waits at most until the event loop's next "check" phase (`setImmediate`), so a lone
 * request pays microseconds, not a timer.
 * @since 0.0.0
 */
export const makeGroupCommit = <E>(
  db: Database.Database,
  fromThrown: (cause: unknown) => Effect.Effect<never, E>
): (<A>(write: () => A) => Effect.Effect<A, E>) => {
  let queue: Array<Job> = []
  let scheduled = false

  const flush = () => {
    scheduled = false
    const jobs = queue
    queue = []
    if (jobs.length === 0) return
    const outcomes: Array<Effect.Effect<unknown, E>> = []
    try {
      db.transaction(() => {
        for (const job of jobs) {
          try {
            // A nested better-sqlite3 transaction is a savepoint: a throw rolls back this write only.
            outcomes.push(Effect.succeed(db.transaction(job.write)()))
          } catch (cause) {
            outcomes.push(fromThrown(cause))
          }
        }
      }).immediate()
    } catch (cause) {
      // BEGIN or COMMIT failed: nothing of the group is in the database.
      const failed = fromThrown(cause)
      for (const job of jobs) job.settle(failed)
      return
    }
    jobs.forEach((job, i) => job.settle(outcomes[i]!))
  }

  return <A>(write: () => A) =>
    Effect.async<A, E>((resume) => {
      const job: Job = { write, settle: (outcome) => resume(outcome as Effect.Effect<A, E>) }
      queue.push(job)
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
      // Interrupted before its group ran: it is not run at all.
      return Effect.sync(() => {
        queue = queue.filter((j) => j !== job)
      })
    })
}
