/**
 * TOTP authenticator codes (SPEC 2.3-2.5): enrol, disable, verify.
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { retryAfterSeconds, TooManyRequests, Unauthorized, Unavailable } from "../domain/errors.js"
import type { TotpEnableResponse, User } from "../domain/models.js"
import type { PolicySettings } from "../domain/policies.js"
import { Policies } from "../domain/policies.js"
import { base32Decode, base32Encode, verifyTotp } from "../crypto/otp.js"
import { totpQrPngDataUri } from "../crypto/qr.js"
import { Sealer, sealedKeyId } from "../crypto/Sealer.js"
import { SecureRandom } from "../crypto/SecureRandom.js"
import type { TotpAttemptPolicy, TotpRecord } from "../storage/Storage.js"
import { Storage } from "../storage/Storage.js"
import * as Tenants from "./Tenants.js"
import * as Users from "./Users.js"
import type { Stamp } from "./Events.js"
import { append, event, stamp } from "./Events.js"
import { countLockout, countVerification, operationSpan } from "../telemetry/Telemetry.js"

/**
 * Binds a sealed secret to its row: a secret copied to another user fails to open (key rotation
 * re-seals under the same associated data).
 * @since 0.0.0
 */
export const secretContext = (tenantId: string, userId: string) => `totp/${tenantId}/${userId}`

const wrongCode = new Unauthorized({ message: "The code is wrong, expired or already used" })
const notEnabled = new Unauthorized({ message: "TOTP is not enabled for this user" })

/**
 * The policies in whole milliseconds, as storage applies them (recovery codes count in the same
 * attempts).
 * @since 0.0.0
 */
export const attemptPolicy = (policies: PolicySettings): TotpAttemptPolicy => {
  const millis = (d: Duration.Duration) => Math.ceil(Duration.toMillis(d))
  const backoffMillis = millis(policies.totpBackoff)
  return {
    limit: policies.totpFailureLimit,
    backoffMillis,
    maxBackoffMillis: Math.max(backoffMillis, millis(policies.totpBackoffMax)),
    escalationWindowMillis: millis(policies.totpEscalationWindow),
    enrolmentLifetimeMillis: millis(policies.totpEnrolmentLifetime)
  }
}

/**
 * Starts an enrolment: a new secret of 20 random bytes, pending until a code made from it is
 * verified, at most `totpEnrolmentLifetime` later (a confirmed secret keeps working meanwhile).
 * Answers the base32 secret and a `data:image/png;base64,...` QR image of its key URI.
 *
 * The image is made before anything is written: a tenant name and user id too long together for
 * a QR code are an `InvalidPayload` that leaves the user's state as it was. The secret is written
 * only if the user still exists in that transaction (else `NotFound`), so an enrolment that races
 * the user's deletion never leaves a secret behind for a user later created with the same id.
 * @since 0.0.0
 */
export const enable = (tenantId: string, userId: string) =>
  Effect.gen(function* () {
    yield* Users.find(tenantId, userId)
    const tenant = yield* Tenants.find(tenantId)
    const random = yield* SecureRandom
    const sealer = yield* Sealer
    const storage = yield* Storage
    const secretKey = base32Encode(yield* random.bytes(20))
    const qrImage = yield* totpQrPngDataUri(
      { issuer: tenant.name, account: userId, secret: secretKey },
      { issuer: "the tenant's name", account: "userId", secret: "the secret" }
    )
    const sealed = yield* sealer.seal(secretKey, secretContext(tenantId, userId))
    const s = yield* stamp(tenantId)
    const written = yield* storage.setPendingTotp(tenantId, userId, sealed, s.occurredAt, (ok) =>
      ok ? [event(s, "totp.enrolled", userId)] : [])
    if (!written) return yield* Users.userNotFound(userId)
    return { secretKey, qrImage } satisfies TotpEnableResponse
  }).pipe(operationSpan("Lagrello.Totp.enable", tenantId, userId))

/**
 * Turns TOTP off and erases the secrets.
 * @since 0.0.0
 */
export const disable = (tenantId: string, userId: string) =>
  Effect.gen(function* () {
    yield* Users.find(tenantId, userId)
    const storage = yield* Storage
    const s = yield* stamp(tenantId)
    yield* storage.disableTotp(tenantId, userId, () => [event(s, "totp.disabled", userId)])
  }).pipe(operationSpan("Lagrello.Totp.disable", tenantId, userId))

/**
 * Whether the user has a confirmed authenticator (an enrolment that no code has confirmed yet
 * does not count): the question a sign-in page asks before offering the code step. Not part of
 * the v1 API. Fails `NotFound` for an unknown user.
 * @since 0.0.0
 */
export const isEnabled = (tenantId: string, userId: string) =>
  Effect.gen(function* () {
    yield* Users.find(tenantId, userId)
    const storage = yield* Storage
    const totp = yield* storage.getTotp(tenantId, userId)
    return Option.isSome(totp) && totp.value.confirmedSecret !== undefined
  }).pipe(operationSpan("Lagrello.Totp.isEnabled", tenantId, userId))

const unopenable = new Unavailable({
  message:
    "The stored TOTP secret cannot be opened with the configured encryption keys (a wrong or missing key); " +
    "nothing was counted, try again once the keys are fixed"
})

/**
 * Opens a sealed secret. One that does not open (a wrong or missing key, a changed row) is the
 * service's failure, not a wrong code: `Unavailable`, logged with the key id it names (never the
 * value).
 */
const openSecret = (tenantId: string, userId: string, sealed: string) =>
  Effect.flatMap(Sealer, (sealer) =>
    sealer.open(sealed, secretContext(tenantId, userId)).pipe(
      Effect.flatMap((text) => {
        const secret = base32Decode(text)
        return secret === undefined ? Effect.fail("NotBase32" as const) : Effect.succeed(secret)
      }),
      Effect.catchAll((reason) =>
        Effect.zipRight(
          Effect.logError("A stored TOTP secret could not be opened", {
            reason: typeof reason === "string" ? reason : reason.reason,
            keyId: sealedKeyId(sealed) ?? "none"
          }),
          Effect.fail(unopenable)
        )
      )
    )
  )

/**
 * The secrets a code is compared against at `now`: the confirmed one, and a pending one within its
 * lifetime. A pending secret without a time (written by a replica still on schema version 1
 * during a rolling upgrade) is kept, as storage keeps it.
 */
const liveSecrets = (totp: TotpRecord, now: number, policy: TotpAttemptPolicy) => {
  const pendingLive =
    totp.pendingSecret !== undefined &&
    (totp.pendingSince === undefined || totp.pendingSince > now - policy.enrolmentLifetimeMillis)
  return [
    ["confirmed", totp.confirmedSecret],
    ["pending", pendingLive ? totp.pendingSecret : undefined]
  ] as const
}

/**
 * Checks a code. Every attempt is counted in storage before the comparison; past the failure
 * limit every attempt (even a right code) is refused until the back-off ends, and a lock-out
 * soon after another lasts twice as long (up to `totpBackoffMax`). A right code is accepted
 * once: no step at or before the last accepted one is accepted again. A pending secret older than
 * `totpEnrolmentLifetime` is not accepted, and is dropped.
 *
 * The secrets are opened before the attempt is counted: one that cannot be opened (the keyring
 * lacks its key, or holds another key under its id) answers `Unavailable` and counts nothing, so
 * a key misconfiguration never locks users out.
 * @since 0.0.0
 */
export const verify = (tenantId: string, userId: string, code: string) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const policies = yield* Policies
    const now = yield* Clock.currentTimeMillis
    const policy = attemptPolicy(policies)
    const s = yield* stamp(tenantId, now)
    const rejected = (reason: string) => event(s, "totp.rejected", userId, { reason })
    const before = yield* storage.getTotp(tenantId, userId)
    if (Option.isNone(before)) {
      yield* Users.find(tenantId, userId)
      yield* append([rejected("not_enabled")])
      return yield* notEnabled
    }
    // Opened by their sealed text: the attempt below answers the secrets as it counted, which a
    // concurrent enrolment may have changed meanwhile (those are opened then).
    const opened = new Map<string, Uint8Array>()
    for (const [, sealed] of liveSecrets(before.value, now, policy)) {
      if (sealed !== undefined) opened.set(sealed, yield* openSecret(tenantId, userId, sealed))
    }
    const attempt = yield* storage.beginTotpAttempt(tenantId, userId, now, policy, (a) =>
      a._tag === "Locked" ? [rejected("locked")] : a._tag === "Missing" ? [rejected("not_enabled")] : [])
    if (attempt._tag === "Locked") {
      return yield* new TooManyRequests({
        message: "Too many wrong codes; wait before trying again",
        retryAfterSeconds: retryAfterSeconds(attempt.retryAt, now)
      })
    }
    if (attempt._tag === "Missing") {
      yield* Users.find(tenantId, userId)
      return yield* notEnabled
    }
    // A wrong code on the attempt that reached the limit starts a lock-out (a right one ends it).
    const refused = attempt.totp.failures >= policy.limit ? Effect.zipRight(countLockout("totp"), wrongCode) : wrongCode
    const candidates = liveSecrets(attempt.totp, now, policy)
    if (candidates.every(([, sealed]) => sealed === undefined)) {
      yield* append([rejected("not_enabled")])
      return yield* notEnabled
    }
    for (const [kind, sealed] of candidates) {
      if (sealed === undefined) continue
      const secret = opened.get(sealed) ?? (yield* openSecret(tenantId, userId, sealed))
      const step = verifyTotp(secret, code, now)
      if (step === undefined) continue
      const accepted = yield* storage.acceptTotpStep({ tenantId, userId, step, secret: sealed, kind }, (ok) =>
        !ok
          ? [rejected("already_used")]
          : kind === "pending"
          ? [event(s, "totp.confirmed", userId), event(s, "totp.verified", userId)]
          : [event(s, "totp.verified", userId)])
      if (!accepted) return yield* refused
      const user = yield* storage.getUser(tenantId, userId)
      return yield* Option.match(user, {
        onNone: () => Effect.fail(Users.userNotFound(userId)),
        onSome: (record): Effect.Effect<User> => Effect.succeed(Users.toUser(record))
      })
    }
    yield* append(wrongCodeEvents(s, userId, "totp.rejected", attempt.totp, policy))
    return yield* refused
  }).pipe(countTotp, operationSpan("Lagrello.Totp.verify", tenantId, userId))

const countTotp = countVerification("totp")

/**
 * The events of a wrong code: rejected, and locked when it was the attempt that started a
 * lock-out (counted before the comparison).
 * @since 0.0.0
 */
export const wrongCodeEvents = (
  s: Stamp,
  userId: string,
  type: "totp.rejected" | "recovery_code.rejected",
  counted: TotpRecord,
  policy: TotpAttemptPolicy
) =>
  counted.failures >= policy.limit && counted.lockedUntil !== undefined
    ? [
      event(s, type, userId, { reason: "wrong_code" }),
      event(s, "totp.locked", userId, { failures: counted.failures, lockedUntil: new Date(counted.lockedUntil).toISOString() })
    ]
    : [event(s, type, userId, { reason: "wrong_code" })]
