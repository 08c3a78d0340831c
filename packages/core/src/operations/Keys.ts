/**
 * The encryption keyring against the database it seals secrets for (SPEC 3.2).
 *
 * A database holds a check value: a fixed text sealed under the keyring in use when the database
 * was first started with this check (schema version 2). Each start opens it: a keyring that holds
 * the key it names opens it; a keyring without that key, or with another key under its id, does
 * not, and the start fails with {@link KeyMismatch} instead of serving with keys that would answer
 * every right TOTP code with 401 and drop every queued message.
 *
 * Rotating keys keeps the check value under its key, which must stay in the keyring until every
 * secret sealed under it has been re-sealed; {@link resealKeyCheck} then moves the check value to
 * the active key, so that the old key can be retired.
 *
 * @since 0.0.0
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Unavailable } from "../domain/errors.js"
import type { SealerService, SealFailure } from "../crypto/Sealer.js"
import { Sealer, sealedKeyId } from "../crypto/Sealer.js"
import { Storage } from "../storage/Storage.js"

/**
 * The configured keyring does not open what the database was sealed with. The message names the
 * key ids that were tried (never key material): the id the database's value was sealed under
 * (the keyring's key of that id, when it has one, was tried and did not open it) and the active
 * key's id.
 * @since 0.0.0
 * @category errors
 */
export class KeyMismatch extends Schema.TaggedError<KeyMismatch>()(
  "KeyMismatch",
  {
    message: Schema.String,
    /** The key id the database's value names (`undefined` when it names none). */
    sealedKeyId: Schema.UndefinedOr(Schema.String),
    /** Whether the keyring holds a key of that id (a different key, since it did not open). */
    keyringHasId: Schema.Boolean,
    /** The id of the keyring's active key. */
    activeKeyId: Schema.String
  },
  HttpApiSchema.annotations({ status: 503 })
) {}

/** What is sealed as the check value: not a secret, only something to authenticate. */
const checkText = "lagrello keyring check v1"
/** The associated data that binds the check value to its row. */
const checkContext = "lagrello/keyring-check"

/** Why `sealed` did not open: the error that names the ids tried. */
const mismatch = (sealer: SealerService, sealed: string, what: string, reason: SealFailure | "WrongText") => {
  const keyId = sealedKeyId(sealed)
  // Only a key the keyring lacks is "UnknownKey": any other failure means the key of that id was tried.
  const keyringHasId = keyId !== undefined && reason !== "UnknownKey"
  const how =
    keyId === undefined
      ? "is not a sealed value"
      : keyringHasId
        ? `was sealed under key "${keyId}", and the keyring's key "${keyId}" does not open it (a different key under that id)`
        : `was sealed under key "${keyId}", which the keyring does not hold`
  return new KeyMismatch({
    message:
      `The encryption keys do not match this database: its ${what} ${how}; the active key is "${sealer.activeKeyId}". ` +
      `Configure the keys this database was used with (a rotated keyring keeps the old keys after the new one).`,
    sealedKeyId: keyId,
    keyringHasId,
    activeKeyId: sealer.activeKeyId
  })
}

/** Opens the check value, or fails with the mismatch. */
const openCheck = (sealer: SealerService, sealed: string) =>
  sealer.open(sealed, checkContext).pipe(
    Effect.mapError((error) => mismatch(sealer, sealed, "key check value", error.reason)),
    Effect.filterOrFail(
      (text) => text === checkText,
      () => mismatch(sealer, sealed, "key check value", "WrongText")
    )
  )

/**
 * Checks the keyring against the database, to be run at start before serving. The first start
 * writes the check value under the active key; on a database that already holds TOTP secrets (one
 * of before this check), one of them must open first, so that a wrong key is caught on that start
 * too. Every later start opens the check value: a rotated keyring that still holds the original
 * key opens it; one without it fails with {@link KeyMismatch}. Safe with several replicas starting
 * at once: one writes the value, the others open it.
 * @since 0.0.0
 */
export const verifyKeyring: Effect.Effect<void, KeyMismatch | Unavailable, Storage | Sealer> = Effect.gen(function* () {
  const storage = yield* Storage
  const sealer = yield* Sealer
  const existing = yield* storage.getKeyCheck
  if (Option.isSome(existing)) return yield* Effect.asVoid(openCheck(sealer, existing.value))
  const sample = yield* storage.sampleTotpSecret
  if (Option.isSome(sample)) {
    const { sealed, tenantId, userId } = sample.value
    // The associated data of TOTP secrets (see Totp.ts).
    yield* sealer
      .open(sealed, `totp/${tenantId}/${userId}`)
      .pipe(Effect.mapError((error) => mismatch(sealer, sealed, "TOTP secret of a user", error.reason)))
  }
  if (yield* storage.insertKeyCheck(yield* sealer.seal(checkText, checkContext))) return
  // Another process wrote it first, maybe with other keys: this keyring must open it too.
  const written = yield* storage.getKeyCheck
  if (Option.isSome(written)) yield* openCheck(sealer, written.value)
})

/**
 * Re-seals the check value under the active key, once every secret has been re-sealed under it
 * (the operator's key rotation): from then on, keyrings without the older keys pass
 * {@link verifyKeyring}. Fails with {@link KeyMismatch} when the keyring does not open the current
 * value; does nothing when it is already sealed under the active key (or not written yet).
 * @since 0.0.0
 */
export const resealKeyCheck: Effect.Effect<void, KeyMismatch | Unavailable, Storage | Sealer> = Effect.gen(function* () {
  const storage = yield* Storage
  const sealer = yield* Sealer
  const existing = yield* storage.getKeyCheck
  if (Option.isNone(existing)) return
  yield* openCheck(sealer, existing.value)
  if (!sealer.needsResealing(existing.value)) return
  // A concurrent re-seal wins the same way: either value opens under the active key.
  yield* storage.replaceKeyCheck(existing.value, yield* sealer.seal(checkText, checkContext))
})
