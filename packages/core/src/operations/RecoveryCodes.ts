/**
 * Recovery codes (SPEC 5.1): single-use codes that stand in for the authenticator when it is
 * lost. A set is made only for a user with a confirmed TOTP secret, replaces the previous set at
 * once, and goes when TOTP is turned off or the user is deleted. Only keyed hashes are stored
 * (HMAC-SHA-256 under a key derived from the encryption key, `Sealer.keyedHash`), so a copy of
 * the database alone cannot test guesses.
 *
 * Key rotation: each code's hash records the id of the keyring key it was derived from, and is
 * checked under that key for as long as the keyring holds it; a new set is always hashed under the
 * active key. A hash cannot be re-hashed without the code, so before an old key leaves the
 * keyring, its users need new sets (the `recovery_codes.key_id` column says which keys are still
 * in use); until then a check against a set whose key is gone answers `Unavailable` and counts
 * nothing.
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InvalidPayload, retryAfterSeconds, TooManyRequests, Unauthorized, Unavailable } from "../domain/errors.js"
import type { RecoveryCodes, RecoveryCodesStatus } from "../domain/recovery.js"
import { Policies } from "../domain/policies.js"
import { formatRecoveryCode, normalizeCode, randomRecoveryCode } from "../crypto/codes.js"
import { Sealer } from "../crypto/Sealer.js"
import { Storage } from "../storage/Storage.js"
import { attemptPolicy, wrongCodeEvents } from "./Totp.js"
import { append, event, stamp } from "./Events.js"
import * as Users from "./Users.js"
import { countLockout, countVerification, operationSpan } from "../telemetry/Telemetry.js"

/** What a code's keyed hash is computed over: bound to its user, so sets of two users never match. */
const codeData = (tenantId: string, userId: string, code: string) =>
  `recovery-code\u0000${tenantId}\u0000${userId}\u0000${code}`

const iso = (millis: number) => DateTime.formatIso(DateTime.unsafeMake(millis))

const span = (name: string, tenantId: string, userId: string) => operationSpan(`Lagrello.RecoveryCodes.${name}`, tenantId, userId)

const wrongCode = new Unauthorized({ message: "The recovery code is wrong or was already used" })

/**
 * A new set of recovery codes for the user (`recoveryCodeCount`, 10 by default), replacing the
 * previous set at once: the codes, shown this once as `xxxx-xxxx-xxxx-xxxx`, and when the set was
 * made. `InvalidPayload` when the user has no confirmed TOTP authenticator; `NotFound` for an
 * unknown user.
 * @since 0.0.0
 */
export const generate = (tenantId: string, userId: string) =>
  Effect.gen(function* () {
    const policies = yield* Policies
    const sealer = yield* Sealer
    const storage = yield* Storage
    const codes = new Set<string>()
    // 80 bits each: a repeat is next to impossible, but a set of fewer codes than asked is not.
    while (codes.size < policies.recoveryCodeCount) codes.add(yield* randomRecoveryCode)
    const hashes = yield* Effect.forEach([...codes], (code) =>
      Effect.map(Effect.orDie(sealer.keyedHash(codeData(tenantId, userId, code))), (h) => h.hash)
    )
    const now = yield* Clock.currentTimeMillis
    const s = yield* stamp(tenantId, now)
    const result = yield* storage.replaceRecoveryCodes(tenantId, userId, { keyId: sealer.activeKeyId, hashes, createdAt: now }, (r) =>
      r === "Replaced" ? [event(s, "recovery_codes.generated", userId, { count: hashes.length })] : [])
    if (result === "NoUser") return yield* Users.userNotFound(userId)
    if (result === "NoTotp") {
      return yield* new InvalidPayload({
        message: "Recovery codes need a confirmed TOTP authenticator: enable TOTP and verify a code first"
      })
    }
    return { codes: [...codes].map(formatRecoveryCode), createdAt: iso(now) } satisfies RecoveryCodes
  }).pipe(span("generate", tenantId, userId))

/**
 * How many of the user's recovery codes are left, and when the set was made (`remaining: 0` and
 * no `createdAt` without a set). `NotFound` for an unknown user.
 * @since 0.0.0
 */
export const status = (tenantId: string, userId: string) =>
  Effect.gen(function* () {
    yield* Users.find(tenantId, userId)
    const storage = yield* Storage
    const set = yield* storage.getRecoveryCodes(tenantId, userId)
    return Option.match(set, {
      onNone: (): RecoveryCodesStatus => ({ remaining: 0 }),
      onSome: (s): RecoveryCodesStatus => ({ remaining: s.remaining, createdAt: iso(s.createdAt) })
    })
  }).pipe(span("status", tenantId, userId))

/**
 * Checks a recovery code (dashes, spaces and case ignored) and uses it up: the user when it is
 * right; of concurrent uses of one code on any number of replicas, exactly one succeeds. Every
 * attempt counts in the TOTP failure counter first (SPEC 2.4): past the limit every attempt, even
 * a right code, is `TooManyRequests` until the back-off ends, and a right code resets the count
 * and the escalation. `Unauthorized` when it is wrong, used, or the user has no codes.
 * @since 0.0.0
 */
export const verify = (tenantId: string, userId: string, typed: string) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const policies = yield* Policies
    const sealer = yield* Sealer
    const now = yield* Clock.currentTimeMillis
    const s = yield* stamp(tenantId, now)
    const rejected = (reason: string) => event(s, "recovery_code.rejected", userId, { reason })
    const set = yield* storage.getRecoveryCodes(tenantId, userId)
    if (Option.isNone(set)) {
      yield* Users.find(tenantId, userId)
      yield* append([rejected("no_codes")])
      return yield* new Unauthorized({ message: "The user has no recovery codes" })
    }
    // Before anything is counted: a key missing from the keyring is the service's fault.
    const { hash } = yield* sealer.keyedHash(codeData(tenantId, userId, normalizeCode(typed)), set.value.keyId).pipe(
      Effect.catchTag("SealError", () =>
        Effect.zipRight(
          Effect.logError("Recovery codes were hashed under a key the keyring does not hold", { keyId: set.value.keyId }),
          Effect.fail(
            new Unavailable({
              message:
                "The recovery codes cannot be checked with the configured encryption keys (their key is missing); " +
                "nothing was counted"
            })
          )
        )
      )
    )
    const policy = attemptPolicy(policies)
    const attempt = yield* storage.beginTotpAttempt(tenantId, userId, now, policy, (a) =>
      a._tag === "Locked" ? [rejected("locked")] : a._tag === "Missing" ? [rejected("no_totp")] : [])
    if (attempt._tag === "Locked") {
      return yield* new TooManyRequests({
        message: "Too many wrong codes; wait before trying again",
        retryAfterSeconds: retryAfterSeconds(attempt.retryAt, now)
      })
    }
    if (attempt._tag === "Missing") return yield* wrongCode
    const counted = attempt.totp
    const used = yield* storage.useRecoveryCode(tenantId, userId, hash, now, (ok) =>
      ok
        ? [event(s, "recovery_code.used", userId, { remaining: Math.max(0, set.value.remaining - 1) })]
        : wrongCodeEvents(s, userId, "recovery_code.rejected", counted, policy))
    if (!used) {
      // A wrong code on the attempt that reached the limit starts a lock-out (a right one ends it).
      if (counted.failures >= policy.limit) yield* countLockout("recovery_code")
      return yield* wrongCode
    }
    return Users.toUser(yield* Users.find(tenantId, userId))
  }).pipe(countRecoveryCode, span("verify", tenantId, userId))

const countRecoveryCode = countVerification("recovery_code")
