/**
 * TOTP authenticator codes (SPEC 2.3-2.5): enrol, disable, verify.
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { retryAfterSeconds, TooManyRequests, Unauthorized } from "../domain/errors.js"
import type { TotpEnableResponse, User } from "../domain/models.js"
import { Policies } from "../domain/policies.js"
import { totpKeyUri } from "../crypto/keyUri.js"
import { base32Decode, base32Encode, verifyTotp } from "../crypto/otp.js"
import { qrPngDataUri } from "../crypto/qr.js"
import { Sealer } from "../crypto/Sealer.js"
import { SecureRandom } from "../services/SecureRandom.js"
import { Storage } from "../storage/Storage.js"
import * as Tenants from "./Tenants.js"
import * as Users from "./Users.js"

/** Binds a sealed secret to its row: a secret copied to another user fails to open. */
const secretContext = (tenantId: string, userId: string) => `totp/${tenantId}/${userId}`

const wrongCode = new Unauthorized({ message: "The code is wrong, expired or already used" })

/**
 * Starts an enrolment: a new secret of 20 random bytes, pending until a code made from it is
 * verified (a confirmed secret keeps working meanwhile). Answers the base32 secret and a
 * `data:image/png;base64,...` QR image of its key URI.
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
    yield* storage.setPendingTotp(tenantId, userId, yield* sealer.seal(secretKey, secretContext(tenantId, userId)))
    const qrImage = yield* qrPngDataUri(totpKeyUri({ issuer: tenant.name, account: userId, secret: secretKey }))
    return { secretKey, qrImage } satisfies TotpEnableResponse
  })

/**
 * Turns TOTP off and erases the secrets.
 * @since 0.0.0
 */
export const disable = (tenantId: string, userId: string) =>
  Effect.gen(function* () {
    yield* Users.find(tenantId, userId)
    const storage = yield* Storage
    yield* storage.disableTotp(tenantId, userId)
  })

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
  })

/**
 * Checks a code. Every attempt is counted in storage before the comparison; past the failure
 * limit every attempt (even a right code) is refused until the back-off ends. A right code is
 * accepted once: no step at or before the last accepted one is accepted again.
 * @since 0.0.0
 */
export const verify = (tenantId: string, userId: string, code: string) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const policies = yield* Policies
    const now = yield* Clock.currentTimeMillis
    const attempt = yield* storage.beginTotpAttempt(tenantId, userId, now, {
      limit: policies.totpFailureLimit,
      backoffMillis: Duration.toMillis(policies.totpBackoff)
    })
    if (attempt._tag === "Locked") {
      return yield* new TooManyRequests({
        message: "Too many wrong codes; wait before trying again",
        retryAfterSeconds: retryAfterSeconds(attempt.retryAt, now)
      })
    }
    if (attempt._tag === "Missing") {
      yield* Users.find(tenantId, userId)
      return yield* new Unauthorized({ message: "TOTP is not enabled for this user" })
    }
    const { confirmedSecret, pendingSecret } = attempt.totp
    if (confirmedSecret === undefined && pendingSecret === undefined) {
      return yield* new Unauthorized({ message: "TOTP is not enabled for this user" })
    }
    const sealer = yield* Sealer
    const candidates = [
      ["confirmed", confirmedSecret],
      ["pending", pendingSecret]
    ] as const
    for (const [kind, sealed] of candidates) {
      if (sealed === undefined) continue
      // A secret that fails to open (tampered row, missing key) fails closed: it matches nothing.
      const secret = yield* sealer.open(sealed, secretContext(tenantId, userId)).pipe(
        Effect.map((s) => base32Decode(s)),
        Effect.tapError((e) => Effect.logError("A stored TOTP secret could not be opened", e._tag)),
        Effect.orElseSucceed(() => undefined)
      )
      if (secret === undefined) continue
      const step = verifyTotp(secret, code, now)
      if (step === undefined) continue
      const accepted = yield* storage.acceptTotpStep({ tenantId, userId, step, secret: sealed, kind })
      if (!accepted) return yield* wrongCode
      const user = yield* storage.getUser(tenantId, userId)
      return yield* Option.match(user, {
        onNone: () => Effect.fail(Users.userNotFound(userId)),
        onSome: (record): Effect.Effect<User> => Effect.succeed(Users.toUser(record))
      })
    }
    return yield* wrongCode
  })
