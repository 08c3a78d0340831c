/**
 * Purging what can no longer matter (SPEC 3.3: expired tokens are purged): magic links that
 * expired, and delivered, superseded or abandoned messages whose link expired, once they are also
 * older than the send throttle's window (the throttle counts the links of its window, expired or
 * not); the kept hashes of deleted users' links once expired; and pending TOTP secrets past
 * `totpEnrolmentLifetime` (SPEC 2.3); events and finished webhook deliveries older than
 * `eventRetention` (SPEC 6.2).
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type { Unavailable } from "../domain/errors.js"
import { Policies } from "../domain/policies.js"
import { Storage } from "../storage/Storage.js"

/**
 * Deletes the expired links and finished messages that neither a sign-in nor the send throttle
 * can need any more, and drops the TOTP enrolments that were not confirmed in time. Returns how
 * many rows went (or lost their pending secret).
 * @since 0.0.0
 */
export const purgeExpired: Effect.Effect<number, Unavailable, Storage | Policies> = Effect.gen(function* () {
  const storage = yield* Storage
  const policies = yield* Policies
  const now = yield* Clock.currentTimeMillis
  const keep = Duration.max(policies.sendWindow, policies.magicLinkLifetime)
  const enrolmentLifetime = Math.ceil(Duration.toMillis(policies.totpEnrolmentLifetime))
  const purged = yield* storage.purge(now - Duration.toMillis(keep), now - enrolmentLifetime)
  // Events and finished webhook deliveries older than their retention (SPEC 6.2).
  const retention = Math.ceil(Duration.toMillis(policies.eventRetention))
  return purged + (yield* storage.purgeEvents(now - retention, now - retention))
})

/**
 * Purges every `interval` (default 10 minutes), first one `interval` after start. A failed purge
 * is logged and tried again at the next one. Safe on every replica: each purge is one idempotent
 * delete per table.
 * @since 0.0.0
 * @category layers
 */
export const layerPurge = (
  options: { readonly interval?: Duration.DurationInput | undefined } = {}
): Layer.Layer<never, never, Storage | Policies> =>
  Layer.scopedDiscard(
    Effect.forkScoped(
      purgeExpired.pipe(
        Effect.tap((purged) => (purged > 0 ? Effect.logDebug(`Purge: ${purged} expired row(s) deleted`) : Effect.void)),
        Effect.catchAll((error) => Effect.logWarning(`Purge: failed, trying again later: ${error.message}`)),
        Effect.delay(options.interval ?? Duration.minutes(10)),
        Effect.repeat(Schedule.forever),
        Effect.annotateLogs({ service: "purge" })
      )
    )
  )
