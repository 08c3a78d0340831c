/**
 * Key rotation (SPEC 3.2, 7.2): count the sealed values under each key id, and re-seal every one
 * under the active key so that older keys can be retired.
 *
 * {@link rotate} walks each kind of sealed value (`sealedKinds`: TOTP secrets, confirmed and
 * pending, the outbox's messages, and webhooks' signing secrets, current and previous) in
 * batches: it opens each value that is not under the active key, seals it again under the active
 * key, and writes the batch in one transaction with a compare-and-set on the old value, so a value a running server changed meanwhile is left as
 * the server wrote it (already under the active key, since servers seal under it). A value
 * already under the active key is never listed, so a run that was interrupted resumes where it
 * stopped. Once no value is left under another key, the keyring's check value moves to the active
 * key too ({@link Keys.resealKeyCheck}), and servers configured with the active key alone start.
 *
 * @since 0.0.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Unavailable } from "../domain/errors.js"
import { Sealer, sealedKeyId } from "../crypto/Sealer.js"
import type { Reseal, SealedCount, SealedKind, SealedRef, SealedValue } from "../storage/Storage.js"
import { sealedKinds, Storage } from "../storage/Storage.js"
import type { KeyMismatch } from "./Keys.js"
import { resealKeyCheck } from "./Keys.js"
import { secretContext } from "./Totp.js"
import { secretContext as webhookSecretContext } from "./Webhooks.js"

/**
 * The associated data each kind of sealed value is bound to (what it was sealed with).
 * @since 0.0.0
 */
export const associatedData = (kind: SealedKind, ref: SealedRef): string =>
  kind === "outbox"
    ? ref.id
    : kind === "webhook-secret" || kind === "webhook-previous-secret"
    ? webhookSecretContext(ref.tenantId, ref.id)
    : secretContext(ref.tenantId, ref.userId)

/**
 * The sealed values per kind and key id, and the key check value's key id.
 * @since 0.0.0
 */
export interface KeyStatus {
  readonly activeKeyId: string
  readonly counts: ReadonlyArray<SealedCount>
  /** The key id of the keyring's check value (none before the first start). */
  readonly keyCheckKeyId: string | undefined
  /** Values under another key than the active one (what `rotate` would re-seal). */
  readonly remaining: number
  /**
   * Users with unused recovery codes, per key id: keyed hashes, which cannot be re-sealed; those
   * under a retired key stop working (the users make new ones).
   */
  readonly recoveryCodeSets: ReadonlyArray<{ readonly keyId: string; readonly users: number }>
}

/** @since 0.0.0 */
export const status: Effect.Effect<KeyStatus, Unavailable, Storage | Sealer> = Effect.gen(function*() {
  const storage = yield* Storage
  const sealer = yield* Sealer
  const counts = yield* storage.countSealed
  const check = yield* storage.getKeyCheck
  return {
    activeKeyId: sealer.activeKeyId,
    counts,
    keyCheckKeyId: Option.getOrUndefined(Option.map(check, (sealed) => sealedKeyId(sealed) ?? "")),
    remaining: counts.filter((c) => c.keyId !== sealer.activeKeyId).reduce((n, c) => n + c.count, 0),
    recoveryCodeSets: yield* storage.countRecoveryCodeSets
  }
}).pipe(Effect.withSpan("Lagrello.KeyRotation.status"))

/**
 * What one batch did, for progress reports.
 * @since 0.0.0
 */
export interface RotationProgress {
  readonly kind: SealedKind
  /** Re-sealed so far, of this kind. */
  readonly resealed: number
  /** Changed by a server between the read and the write (left as the server wrote it), so far. */
  readonly changed: number
  /** Values that do not open with the keyring (a key it lacks, or tampered), so far. */
  readonly unreadable: number
}

/** @since 0.0.0 */
export interface RotationOptions {
  /** Values per transaction. Default 200. */
  readonly batchSize?: number | undefined
  /** Re-seal at most this many values in this run (the rest stay for the next run). */
  readonly limit?: number | undefined
  /** Called after each batch. */
  readonly onProgress?: ((progress: RotationProgress) => Effect.Effect<void>) | undefined
}

/** @since 0.0.0 */
export interface RotationResult {
  readonly activeKeyId: string
  readonly resealed: number
  readonly changed: number
  readonly unreadable: number
  /** Whether the run stopped at `limit` before the end. */
  readonly stopped: boolean
  /** Whether the keyring's check value is now under the active key (older keys can be retired). */
  readonly keyCheckResealed: boolean
  /** The status after the run. */
  readonly status: KeyStatus
}

/**
 * Re-seals every sealed value under the active key (see the module's description).
 * @since 0.0.0
 */
export const rotate = (
  options: RotationOptions = {}
): Effect.Effect<RotationResult, Unavailable | KeyMismatch, Storage | Sealer> =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const sealer = yield* Sealer
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? 200))
    let budget = options.limit === undefined ? Infinity : Math.max(0, Math.floor(options.limit))
    let resealed = 0
    let changed = 0
    let unreadable = 0
    for (const kind of sealedKinds) {
      const progress = { resealed: 0, changed: 0, unreadable: 0 }
      let after: SealedRef | undefined
      while (budget > 0) {
        const batch: ReadonlyArray<SealedValue> = yield* storage.listSealed(kind, {
          exceptKeyId: sealer.activeKeyId,
          after,
          limit: Math.min(batchSize, budget)
        })
        if (batch.length === 0) break
        after = batch[batch.length - 1]!.ref
        const updates: Array<Reseal> = []
        for (const value of batch) {
          const context = associatedData(kind, value.ref)
          const plain = yield* Effect.option(sealer.open(value.sealed, context))
          if (Option.isNone(plain)) {
            progress.unreadable++
            continue
          }
          updates.push({ kind, ref: value.ref, previous: value.sealed, next: yield* sealer.seal(plain.value, context) })
        }
        const replaced = updates.length === 0 ? 0 : yield* storage.resealValues(updates)
        progress.resealed += replaced
        progress.changed += updates.length - replaced
        budget -= batch.length
        if (options.onProgress) yield* options.onProgress({ kind, ...progress })
      }
      resealed += progress.resealed
      changed += progress.changed
      unreadable += progress.unreadable
    }
    let after = yield* status
    const stopped = budget <= 0 && after.remaining > 0
    // The check value moves only once nothing is left under another key.
    const keyCheckResealed = after.remaining === 0
    if (keyCheckResealed) {
      yield* resealKeyCheck
      after = yield* status
    }
    return { activeKeyId: sealer.activeKeyId, resealed, changed, unreadable, stopped, keyCheckResealed, status: after }
  }).pipe(Effect.withSpan("Lagrello.KeyRotation.rotate"))
