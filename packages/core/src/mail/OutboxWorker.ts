/**
 * The delivery worker of the transactional outbox (SPEC 4.2, checklist 25, 27).
 *
 * Operations write a message to the outbox in the same transaction as its link; the worker
 * delivers it through the {@link MailTransport}:
 *
 * - It leases due messages with `Storage.claimOutbox`: a leased message is invisible to other
 *   workers until the lease ends, so a worker may run in every replica on one database and each
 *   message is delivered once. Nothing else coordinates the workers.
 * - Leases are short (30 s by default) and renewed every third of their length while the worker
 *   is still working on their messages (sending them, or waiting for a free connection): a
 *   worker that crashed or was killed delays its messages by at most one lease, after which any
 *   worker takes them. Each outcome is written only while the worker holds the message's current
 *   lease (the renewed one; a renewal and an outcome of one message never overlap), so a worker
 *   that lost a message to another never records over it, and does not start a message whose
 *   lease it lost. An outcome the database cannot take is tried again while the lease holds.
 * - A user's messages are delivered one at a time, in the order they were written (the claim
 *   skips a message while an older one of its user is pending), and a message whose link a newer
 *   one revoked is `superseded`, never sent: the last mail a user receives holds the live link.
 * - A message whose link has expired is dropped (`expired`), never sent.
 * - A transient failure (server down, timeout, 4xx) is retried with exponential back-off
 *   (1 s, 2 s, 4 s, ... capped at 5 minutes) up to `maxAttempts` attempts; a permanent one (5xx
 *   reply to the message) or the last attempt ends it as `failed` (the dead letter). A retry that
 *   could only come after the link expires drops the message as `expired` at once.
 * - Each message's processing is uninterruptible: a worker that is stopped finishes the sends in
 *   flight and releases the leases of the messages it had not started (graceful shutdown).
 *
 * Logs name the message id and the error, never the recipient, the body or the link.
 *
 * @since 0.0.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import type { Unavailable } from "../domain/errors.js"
import type { Sealer } from "../crypto/Sealer.js"
import type { EventType, NewEvent } from "../storage/events.js"
import type { OutboxRecord } from "../storage/Storage.js"
import { Storage } from "../storage/Storage.js"
import { MailTransport } from "./MailTransport.js"
import { openOutboxMessage } from "./OutboxMessage.js"
import type { DeliveryOutcome } from "../telemetry/Telemetry.js"
import { countDelivery, spanned, userAttributes } from "../telemetry/Telemetry.js"

/**
 * The retry schedule of transient failures: the n-th retry waits `initial * 2^(n-1)`, at most
 * `max`.
 * @since 0.0.0
 */
export interface BackoffOptions {
  /** The wait after the first failed attempt. Default 1 second. */
  readonly initial?: Duration.DurationInput | undefined
  /** The longest wait. Default 5 minutes. */
  readonly max?: Duration.DurationInput | undefined
  /**
   * Spread the retries of messages that failed together: each wait becomes a random time between
   * half of it and all of it. Default false (the lease already keeps workers apart).
   */
  readonly jitter?: boolean | undefined
}

/**
 * How one delivery pass works. Every setting has a documented default.
 * @since 0.0.0
 */
export interface DeliveryOptions {
  /** The most messages one pass leases. Default 40. */
  readonly batchSize?: number | undefined
  /**
   * How long a leased message stays invisible to other workers. The worker renews the leases of
   * the messages it still works on every third of this, so it need not outlast a send (the SMTP
   * send timeout is 60 s) or a whole batch, only a stall of the process of two thirds of it (a
   * lease that lapses lets another worker send the message again). It is also how long the
   * messages of a crashed worker wait before another takes them. Default 30 seconds.
   */
  readonly lease?: Duration.DurationInput | undefined
  /**
   * Messages of a batch sent at the same time: as many as the SMTP pool has connections (20 by
   * default), so that every connection stays busy. Default 20.
   */
  readonly concurrency?: number | undefined
  /** Attempts before a message that keeps failing is given up (`failed`). Default 8. */
  readonly maxAttempts?: number | undefined
  readonly backoff?: BackoffOptions | undefined
}

/**
 * The options of the worker loop: a pass's, and the wait between passes.
 * @since 0.0.0
 */
export interface OutboxWorkerOptions extends DeliveryOptions {
  /** The wait after a pass that did not fill its batch. Default 500 ms. */
  readonly pollInterval?: Duration.DurationInput | undefined
}

/**
 * What one pass did. `claimed` also counts messages whose outcome could not be recorded (the
 * storage failed after the attempt: logged, and the message is retried once its lease ends).
 * @since 0.0.0
 */
export interface DeliveryReport {
  readonly claimed: number
  readonly sent: number
  readonly retried: number
  readonly expired: number
  readonly failed: number
}

interface Settings {
  readonly batchSize: number
  readonly leaseMillis: number
  readonly concurrency: number
  readonly maxAttempts: number
  readonly initialMillis: number
  readonly maxMillis: number
  readonly jitter: boolean
  readonly pollInterval: Duration.Duration
}

const positiveInteger = (value: number | undefined, fallback: number): number => {
  const n = value ?? fallback
  return Number.isSafeInteger(n) && n >= 1 ? n : Number.NaN
}

const delayMillis = (attempt: number, initialMillis: number, maxMillis: number): number =>
  Math.min(maxMillis, initialMillis * 2 ** Math.max(0, attempt - 1))

const settingsOf = (options: OutboxWorkerOptions): Effect.Effect<Settings> => {
  const settings: Settings = {
    batchSize: positiveInteger(options.batchSize, 40),
    leaseMillis: Math.ceil(Duration.toMillis(options.lease ?? Duration.seconds(30))),
    concurrency: positiveInteger(options.concurrency, 20),
    maxAttempts: positiveInteger(options.maxAttempts, 8),
    initialMillis: Duration.toMillis(options.backoff?.initial ?? Duration.seconds(1)),
    maxMillis: Duration.toMillis(options.backoff?.max ?? Duration.minutes(5)),
    jitter: options.backoff?.jitter ?? false,
    pollInterval: Duration.decode(options.pollInterval ?? Duration.millis(500))
  }
  const invalid = (["batchSize", "concurrency", "maxAttempts"] as const).filter((k) => Number.isNaN(settings[k]))
  if (invalid.length > 0) {
    return Effect.dieMessage(`Outbox worker: ${invalid.join(", ")} must be a positive integer`)
  }
  if (!(settings.leaseMillis > 0 && Number.isFinite(settings.leaseMillis))) {
    return Effect.dieMessage("Outbox worker: the lease must be a positive, finite duration")
  }
  if (!(settings.initialMillis > 0 && settings.maxMillis >= settings.initialMillis && Number.isFinite(settings.maxMillis))) {
    return Effect.dieMessage("Outbox worker: the back-off must have 0 < initial <= max, both finite")
  }
  return Effect.succeed(settings)
}

/**
 * The wait before the next attempt after `attempt` failed attempts (1 for the first): `initial *
 * 2^(attempt-1)`, at most `max` (without jitter).
 * @since 0.0.0
 */
export const backoffDelay = (attempt: number, backoff: BackoffOptions = {}): Duration.Duration => {
  const initial = Duration.toMillis(backoff.initial ?? Duration.seconds(1))
  const max = Duration.toMillis(backoff.max ?? Duration.minutes(5))
  return Duration.millis(delayMillis(attempt, initial, max))
}

type Outcome = "sent" | "retried" | "expired" | "failed" | "unrecorded" | "lost"

/**
 * A message this pass leased. `current` holds the latest lease (renewals change it): every write
 * is fenced on it, under `lock`, so that a renewal and an outcome of the message never overlap
 * (an outcome written with the lease a renewal just replaced would change nothing).
 */
interface Claim {
  current: OutboxRecord
  readonly lock: Effect.Semaphore
  started: boolean
  /** Its outcome was written (or tried): no more renewals. */
  done: boolean
  /** A renewal found the lease gone (another worker has the message): not started, not written. */
  lost: boolean
}

const makeClaim = (record: OutboxRecord): Effect.Effect<Claim> =>
  Effect.map(Effect.makeSemaphore(1), (lock) => ({ current: record, lock, started: false, done: false, lost: false }))

/** A write fenced on the claim's current lease, under its lock. */
const fenced = <A, R>(claim: Claim, write: (current: OutboxRecord) => Effect.Effect<A, Unavailable, R>) =>
  claim.lock.withPermits(1)(Effect.suspend(() => write(claim.current)))

const markDone = (claim: Claim) =>
  Effect.sync(() => {
    claim.done = true
  })

/** Gives a claim back once, best effort (the worker is stopping); the claim is done afterwards. */
const writeOnce = <A, R>(claim: Claim, write: (current: OutboxRecord) => Effect.Effect<A, Unavailable, R>) =>
  fenced(claim, write).pipe(Effect.ensuring(markDone(claim)))

/**
 * Records a message's outcome with its current lease. When the database cannot be reached, the
 * write is tried again (0.5 s, 1 s, 2 s ... at most 5 s apart) for as long as the worker still
 * holds the lease, which the renewals keep alive once the database is back: a fenced write is
 * safe to repeat. Until the outcome is known the message counts as being delivered, and holds
 * back its user's newer messages (they must not overtake it), so giving up at the first failure
 * would delay them by a lease and send this one again. The waits between tries are
 * interruptible: a worker being stopped gives up (the message is delivered again after its lease).
 * The claim is done afterwards.
 */
const recordOutcome = <A, R>(claim: Claim, write: (current: OutboxRecord) => Effect.Effect<A, Unavailable, R>) =>
  Effect.gen(function* () {
    for (let waitMillis = 500; ; waitMillis = Math.min(2 * waitMillis, 5_000)) {
      const written = yield* Effect.either(fenced(claim, write))
      if (Either.isRight(written)) return written.right
      const now = yield* Clock.currentTimeMillis
      if (claim.current.leaseUntil <= now + waitMillis) return yield* Effect.fail(written.left)
      yield* Effect.logWarning(`Outbox: the outcome could not be recorded, trying again: ${written.left.message}`)
      yield* Effect.interruptible(Effect.sleep(Duration.millis(waitMillis)))
    }
  }).pipe(Effect.ensuring(markDone(claim)))

/**
 * Every third of the lease, extends the leases of the claims not done yet to a full lease from
 * now, in one call while holding their locks (each taken in turn: an outcome holds only its own,
 * so this never deadlocks). A claim whose lease is gone is marked lost. Runs until interrupted;
 * a renewal in progress completes first. A failed renewal is logged and tried at the next turn.
 */
const renewLeases = (claims: ReadonlyArray<Claim>, settings: Settings) => {
  const renewal = Effect.gen(function* () {
    const storage = yield* Storage
    const open = claims.filter((c) => !c.done && !c.lost)
    if (open.length === 0) return
    yield* Effect.forEach(open, (c) => c.lock.take(1), { discard: true })
    yield* Effect.gen(function* () {
      const live = open.filter((c) => !c.done)
      if (live.length === 0) return
      const leaseUntil = (yield* Clock.currentTimeMillis) + settings.leaseMillis
      const renewed = new Set(yield* storage.renewOutboxLeases(live.map((c) => c.current), leaseUntil))
      for (const c of live) {
        if (renewed.has(c.current.id)) c.current = { ...c.current, leaseUntil }
        else c.lost = true
      }
    }).pipe(
      Effect.catchTag("Unavailable", (error) =>
        Effect.logWarning(`Outbox: leases could not be renewed, trying again: ${error.message}`)
      ),
      Effect.ensuring(Effect.forEach(open, (c) => c.lock.release(1), { discard: true }))
    )
  })
  const every = Duration.millis(Math.max(1, Math.floor(settings.leaseMillis / 3)))
  return Effect.forever(Effect.zipRight(Effect.sleep(every), Effect.uninterruptible(renewal))).pipe(Effect.interruptible)
}

const retryDelayMillis = (attempt: number, settings: Settings): Effect.Effect<number> => {
  const delay = delayMillis(attempt, settings.initialMillis, settings.maxMillis)
  return settings.jitter
    ? Effect.map(Random.nextRange(delay / 2, delay), Math.round)
    : Effect.succeed(delay)
}

/** The event of a message's outcome (SPEC 6.1): its id and attempts, never its recipient or error text. */
const mailEvent = (type: EventType, record: OutboxRecord, now: number, reason?: string) => (written: boolean): ReadonlyArray<NewEvent> =>
  written
    ? [{
      type,
      tenantId: record.tenantId,
      userId: record.userId,
      occurredAt: now,
      data: reason === undefined ? { messageId: record.id, attempts: record.attempts } : { messageId: record.id, attempts: record.attempts, reason }
    }]
    : []

/** One leased message: drop, open, send, record. Never fails: storage errors are logged. */
const processMessage = (claim: Claim, settings: Settings): Effect.Effect<Outcome, never, Storage | Sealer | MailTransport> => {
  // Everything but the lease stays as claimed.
  const record = claim.current
  return Effect.gen(function* () {
    const storage = yield* Storage
    const transport = yield* MailTransport
    const now = yield* Clock.currentTimeMillis
    if (claim.lost || claim.current.leaseUntil <= now) {
      // Another worker may be sending it: leave it alone (no renewal, no release).
      claim.lost = true
      yield* Effect.logWarning("Outbox: message not started, its lease was lost")
      return "lost"
    }
    if (record.expiresAt <= now) {
      yield* recordOutcome(claim, (c) => storage.finishOutbox(c, "expired", "link expired before delivery", mailEvent("mail.dropped", record, now, "expired")))
      yield* Effect.logWarning("Outbox: message dropped, its link expired before delivery")
      return "expired"
    }
    const opened = yield* Effect.either(openOutboxMessage(record))
    if (Either.isLeft(opened)) {
      yield* recordOutcome(claim, (c) => storage.finishOutbox(c, "failed", opened.left.message, mailEvent("mail.failed", record, now, "unreadable")))
      yield* Effect.logError(`Outbox: message given up: ${opened.left.message}`)
      return "failed"
    }
    const sent = yield* Effect.either(transport.send(opened.right).pipe(spanned("Lagrello.Mail.send", () => ({ kind: "client" }))))
    if (Either.isRight(sent)) {
      if (!(yield* recordOutcome(claim, (c) => storage.markOutboxSent(c, mailEvent("mail.delivered", record, now))))) {
        // Another worker took the message over: it may deliver it again. The lease is renewed
        // during the send, so this only happens when the process (or the database) stalled.
        yield* Effect.logWarning("Outbox: sent after its lease lapsed")
      }
      yield* Effect.logDebug("Outbox: message sent")
      return "sent"
    }
    const error = sent.left
    if (error.permanent || record.attempts >= settings.maxAttempts) {
      const why = error.permanent ? "refused" : `failed ${record.attempts} times`
      yield* recordOutcome(claim, (c) => storage.finishOutbox(c, "failed", error.message, mailEvent("mail.failed", record, now, error.permanent ? "refused" : "attempts")))
      yield* Effect.logError(`Outbox: message given up (${why}): ${error.message}`)
      return "failed"
    }
    const after = yield* Clock.currentTimeMillis
    const nextAttemptAt = after + (yield* retryDelayMillis(record.attempts, settings))
    if (nextAttemptAt >= record.expiresAt) {
      yield* recordOutcome(claim, (c) =>
        storage.finishOutbox(
          c,
          "expired",
          `link expires before the next attempt; last error: ${error.message}`,
          mailEvent("mail.dropped", record, after, "expired")
        )
      )
      yield* Effect.logWarning(`Outbox: message dropped, its link expires before the next attempt: ${error.message}`)
      return "expired"
    }
    yield* recordOutcome(claim, (c) => storage.retryOutbox(c, nextAttemptAt, error.message))
    yield* Effect.logWarning(
      `Outbox: attempt ${record.attempts} failed, next in ${Duration.format(Duration.millis(nextAttemptAt - after))}: ${error.message}`
    )
    return "retried"
  }).pipe(
    Effect.catchTag("Unavailable", (error) =>
      Effect.as(Effect.logError(`Outbox: the outcome could not be recorded: ${error.message}`), "unrecorded" as const)
    ),
    Effect.tap((outcome) => countDelivery("mail", deliveryOutcome[outcome])),
    Effect.annotateLogs({ outboxMessage: record.id, attempt: record.attempts }),
    spanned("Lagrello.Outbox.deliver", () => ({
      kind: "consumer",
      attributes: { ...userAttributes(record.tenantId, record.userId), "lagrello.outbox.attempt": record.attempts }
    }), { root: true })
  )
}

/** The delivery metric's outcome of each way a message's attempt ends. */
const deliveryOutcome: Record<Outcome, DeliveryOutcome> = {
  sent: "delivered",
  retried: "retry",
  failed: "failed",
  expired: "expired",
  lost: "lost",
  unrecorded: "unrecorded"
}

/**
 * Gives back the leases of messages that were claimed but not started, so that any worker takes
 * them at once, without counting the claim's attempt (a lost lease is not this worker's to give).
 */
const release = (claims: ReadonlyArray<Claim>) =>
  Effect.gen(function* () {
    const held = claims.filter((c) => !c.lost)
    if (held.length === 0) return
    const storage = yield* Storage
    yield* Effect.forEach(
      held,
      (claim) =>
        writeOnce(claim, (c) => storage.releaseOutbox(c)).pipe(Effect.catchTag("Unavailable", () => Effect.void)),
      { discard: true }
    )
    yield* Effect.logInfo(`Outbox: released ${held.length} unsent message(s)`)
  })

const runPass = (settings: Settings): Effect.Effect<DeliveryReport, Unavailable, Storage | Sealer | MailTransport> =>
  // The lease is taken uninterruptibly, so that a stop never loses track of leased messages.
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const storage = yield* Storage
      const claimed = yield* storage.claimOutbox(yield* Clock.currentTimeMillis, settings.leaseMillis, settings.batchSize)
      if (claimed.length === 0) return { claimed: 0, sent: 0, retried: 0, expired: 0, failed: 0 }
      const claims = yield* Effect.forEach(claimed, makeClaim)
      const heartbeat = yield* Effect.fork(renewLeases(claims, settings))
      const outcomes = yield* restore(
        Effect.forEach(
          claims,
          (claim) =>
            // Uninterruptible from its first step: once started, a message is sent and recorded
            // even when the worker is being stopped.
            Effect.uninterruptible(
              Effect.zipRight(
                Effect.sync(() => {
                  claim.started = true
                }),
                processMessage(claim, settings)
              )
            ),
          { concurrency: settings.concurrency }
        )
      ).pipe(
        // Once every started message is done (the leases are renewed until then). Stopped (or a
        // defect) before some were started: give their leases back.
        Effect.ensuring(
          Effect.zipRight(
            Fiber.interrupt(heartbeat),
            Effect.suspend(() => release(claims.filter((claim) => !claim.started)))
          )
        )
      )
      const count = (outcome: Outcome) => outcomes.filter((o) => o === outcome).length
      return {
        claimed: claimed.length,
        sent: count("sent"),
        retried: count("retried"),
        expired: count("expired"),
        failed: count("failed")
      }
    })
  )

/**
 * One delivery pass: leases up to `batchSize` due messages and processes them (see the module
 * documentation), `concurrency` at a time. Fails only when the messages cannot be leased; a
 * storage failure on one message is logged and leaves it to be retried when its lease ends.
 * All times come from Effect's `Clock`.
 * @since 0.0.0
 */
export const deliverDue = (
  options: DeliveryOptions = {}
): Effect.Effect<DeliveryReport, Unavailable, Storage | Sealer | MailTransport> =>
  Effect.flatMap(settingsOf(options), runPass)

const loop = (settings: Settings): Effect.Effect<never, never, Storage | Sealer | MailTransport> => {
  const pass = runPass(settings).pipe(
    Effect.map((report) => report.claimed >= settings.batchSize),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.interrupt
        : Effect.as(Effect.logError("Outbox: a delivery pass failed; trying again later", cause), false)
    )
  )
  return Effect.forever(
    Effect.flatMap(pass, (full) => (full ? Effect.yieldNow() : Effect.sleep(settings.pollInterval)))
  ).pipe(Effect.annotateLogs({ service: "outbox-worker" }))
}

/**
 * The worker loop: a pass, then another at once if it filled its batch, else after
 * `pollInterval`. A pass that fails (the database is unreachable) is logged and the loop goes
 * on after `pollInterval`: it never ends by itself. Interrupting it lets the sends in flight
 * finish and releases the other leased messages. Options out of range are a defect.
 * @since 0.0.0
 */
export const runOutboxWorker = (
  options: OutboxWorkerOptions = {}
): Effect.Effect<never, never, Storage | Sealer | MailTransport> => Effect.flatMap(settingsOf(options), loop)

/**
 * The outbox worker as a scoped layer: building it checks the options (out of range: a defect,
 * when the layer is built) and forks {@link runOutboxWorker}; closing the layer's scope stops it
 * gracefully (sends in flight finish first, the other leases are released). Run it in every
 * replica: the leases keep them from sending a message twice.
 * @since 0.0.0
 * @category layers
 */
export const layerOutboxWorker = (
  options: OutboxWorkerOptions = {}
): Layer.Layer<never, never, Storage | Sealer | MailTransport> =>
  Layer.scopedDiscard(Effect.flatMap(settingsOf(options), (settings) => Effect.forkScoped(loop(settings))))
