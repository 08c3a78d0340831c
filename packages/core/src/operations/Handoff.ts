/**
 * The sign-in handoff (SPEC 5.3): a device that cannot open the mail (a TV, a shared computer)
 * starts a sign-in and waits; the person opens the mail's link on any other device (their phone),
 * picks, among three numbers, the one the waiting device shows, and the waiting device is signed
 * in. A wrong number denies the handoff and burns the link, so a person who did not start the
 * sign-in cannot complete an attacker's by confirming a mail they did not ask for.
 *
 * The handoff id (256 bits, only its SHA-256 is stored) is what the waiting device's back end
 * polls with; once approved, its answer carries the user to exactly one reader.
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { NotFound, Unauthorized } from "../domain/errors.js"
import type { Handoff, HandoffChoices, HandoffStatus } from "../domain/recovery.js"
import { randomMatchNumbers } from "../crypto/codes.js"
import { SecureRandom } from "../crypto/SecureRandom.js"
import { encodeToken, hashToken, isWellFormedToken } from "../crypto/tokens.js"
import { Storage } from "../storage/Storage.js"
import * as MagicLink from "./MagicLink.js"
import * as Users from "./Users.js"
import { event, stamp } from "./Events.js"
import { operationSpan } from "../telemetry/Telemetry.js"

/** The longest long poll, in seconds. @since 0.0.0 */
export const maxWaitSeconds = 30

const span = (name: string, tenantId: string, userId?: string) => operationSpan(`Lagrello.Handoff.${name}`, tenantId, userId)

const unknownHandoff = new NotFound({ message: "No such handoff in this tenant (or its user was deleted)" })
const notLive = new Unauthorized({
  message:
    "The link is not a handoff that can still be confirmed: it is unknown, expired, already used or denied, " +
    "or a plain sign-in link (GET /v1/users/email)"
})

/**
 * Starts a handoff: sends the user the same mail as a sign-in link (link and code; throttled
 * alike), and answers the handoff's id, the number the waiting device shows, and when it expires
 * (with its link).
 * @since 0.0.0
 */
export const start = (tenantId: string, userId: string) =>
  Effect.gen(function* () {
    const random = yield* SecureRandom
    const handoffId = encodeToken(yield* random.bytes(32))
    const { choices, matchNumber } = yield* randomMatchNumbers
    const issued = yield* MagicLink.issueChallenge(tenantId, userId, { idHash: hashToken(handoffId), matchNumber, choices })
    return {
      handoffId,
      matchNumber,
      expiresAt: DateTime.formatIso(DateTime.unsafeMake(issued.expiresAt))
    } satisfies Handoff
  }).pipe(span("start", tenantId, userId))

/**
 * The handoff's status, waiting up to `waitSeconds` (at most 30) while it is pending: the answer
 * comes as soon as it is decided, here or on another replica (see `storage/handoffWatch.ts`), or
 * when it expires, else `pending` once the wait is over. An approved handoff's answer carries the
 * user, to exactly one reader; later reads answer `expired`. The wait runs on Effect's `Clock` and
 * holds no database connection. `NotFound` for an unknown id.
 * @since 0.0.0
 */
export const status = (tenantId: string, handoffId: string, waitSeconds = 0) =>
  Effect.scoped(
    Effect.gen(function* () {
      if (!isWellFormedToken(handoffId)) return yield* unknownHandoff
      const idHash = hashToken(handoffId)
      const storage = yield* Storage
      const deadline = (yield* Clock.currentTimeMillis) + Math.min(Math.max(waitSeconds, 0), maxWaitSeconds) * 1000
      // Watching before the first read: a decision between the read and the wait is not missed.
      const changed = waitSeconds > 0 ? yield* storage.watchHandoff(idHash) : undefined
      for (;;) {
        const now = yield* Clock.currentTimeMillis
        const state = yield* storage.readHandoff(tenantId, idHash, now)
        switch (state._tag) {
          case "Missing":
            return yield* unknownHandoff
          case "Approved":
            return { status: "approved", user: Users.toUser(state.user) } satisfies HandoffStatus
          case "Denied":
            return { status: "denied" } satisfies HandoffStatus
          case "Expired":
            return { status: "expired" } satisfies HandoffStatus
          case "Pending": {
            const until = Math.min(deadline, state.expiresAt)
            if (changed === undefined || until <= now) return { status: "pending" } satisfies HandoffStatus
            yield* Effect.race(changed, Effect.sleep(Duration.millis(until - now)))
          }
        }
      }
    })
  ).pipe(span("status", tenantId))

/**
 * The three numbers to show on the device that opened a handoff's link, in the order to show
 * them; consumes nothing (the page may be reloaded). `Unauthorized` when the link is not a live
 * handoff link.
 * @since 0.0.0
 */
export const choices = (tenantId: string, token: string) =>
  Effect.gen(function* () {
    if (!isWellFormedToken(token)) return yield* notLive
    const storage = yield* Storage
    const found = yield* storage.getHandoffChoices(tenantId, hashToken(token), yield* Clock.currentTimeMillis)
    return yield* Option.match(found, {
      onNone: () => Effect.fail(notLive),
      onSome: (numbers) => Effect.succeed({ choices: numbers } satisfies HandoffChoices)
    })
  }).pipe(span("choices", tenantId))

/**
 * Decides a handoff with the number the person picked: the right one approves it (its link is
 * used up, the waiting device gets the user); a wrong one denies it and burns the link, and
 * answers `Unauthorized`, as does a link that is not a live handoff link.
 * @since 0.0.0
 */
export const approve = (tenantId: string, token: string, matchNumber: number) =>
  Effect.gen(function* () {
    if (!isWellFormedToken(token)) return yield* notLive
    const storage = yield* Storage
    const s = yield* stamp(tenantId)
    const decided = yield* storage.decideHandoff(tenantId, hashToken(token), matchNumber, s.occurredAt, (d) => [
      event(s, d.outcome === "Approved" ? "handoff.approved" : "handoff.denied", d.userId)
    ])
    if (decided === "Invalid") return yield* notLive
    if (decided === "Denied") {
      return yield* new Unauthorized({
        message: "That is not the number the other device shows: the sign-in was refused, and this link no longer works"
      })
    }
  }).pipe(span("approve", tenantId))
