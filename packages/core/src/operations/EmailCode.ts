/**
 * The code of a sign-in mail (SPEC 5.2), for a person who reads the mail on another device than
 * the one they sign in on: they type the code there instead of opening the link. Link and code
 * are one challenge: using either uses both up; five wrong codes (`emailCodeFailureLimit`) end
 * it, the link too. A 6-digit code has only 20 bits, so it is stored as a keyed hash
 * (HMAC-SHA-256 under a key derived from the encryption key), which a copy of the database alone
 * cannot search; guessing online is bounded by the five attempts of each challenge and by the
 * send throttle on new challenges.
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Unauthorized, Unavailable } from "../domain/errors.js"
import { Policies } from "../domain/policies.js"
import { Sealer } from "../crypto/Sealer.js"
import { Storage } from "../storage/Storage.js"
import { emailCodeData } from "./MagicLink.js"
import * as Users from "./Users.js"
import { append, event, stamp } from "./Events.js"
import { countVerification, operationSpan } from "../telemetry/Telemetry.js"

const noChallenge = new Unauthorized({
  message: "No sign-in code is waiting for this user: it expired, was used (its link too), or a newer mail replaced it"
})

/**
 * Exchanges the code of the user's last sign-in mail (spaces and dashes ignored) for the user,
 * using up the mail's link too. `Unauthorized` when it is wrong (the challenge ends at the fifth
 * wrong code), expired or used; `NotFound` for an unknown user.
 * @since 0.0.0
 */
export const verify = (tenantId: string, userId: string, typed: string) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const policies = yield* Policies
    const sealer = yield* Sealer
    const now = yield* Clock.currentTimeMillis
    const s = yield* stamp(tenantId, now)
    const challenge = yield* storage.findEmailCode(tenantId, userId, now)
    if (Option.isNone(challenge)) {
      yield* Users.find(tenantId, userId)
      yield* append([event(s, "email_code.rejected", userId, { reason: "no_challenge" })])
      return yield* noChallenge
    }
    const { keyId, tokenHash } = challenge.value
    const code = typed.replace(/[\s-]+/g, "")
    const { hash } = yield* sealer.keyedHash(emailCodeData(tokenHash, code), keyId).pipe(
      Effect.catchTag("SealError", () =>
        Effect.fail(
          new Unavailable({
            message: "The sign-in code cannot be checked with the configured encryption keys (its key is missing); nothing was counted"
          })
        )
      )
    )
    const attempt = yield* storage.tryEmailCode({
      tenantId,
      tokenHash,
      codeHash: hash,
      now,
      limit: policies.emailCodeFailureLimit
    }, (a) => [
      a._tag === "Consumed"
        ? event(s, "magic_link.verified", a.userId, { method: "email_code" })
        : a._tag === "Wrong"
        ? event(s, "email_code.rejected", userId, { reason: "wrong_code", ended: a.ended })
        : event(s, "email_code.rejected", userId, { reason: "no_challenge" })
    ])
    switch (attempt._tag) {
      case "Invalid":
        return yield* noChallenge
      case "Wrong":
        return yield* new Unauthorized({
          message: attempt.ended
            ? "The code is wrong, and too many wrong codes were tried: this mail's code and link no longer work; ask for a new one"
            : "The code is wrong"
        })
      case "Consumed":
        return Users.toUser(yield* Users.find(tenantId, attempt.userId))
    }
  }).pipe(countEmailCode, operationSpan("Lagrello.EmailCode.verify", tenantId, userId))

const countEmailCode = countVerification("email_code")
