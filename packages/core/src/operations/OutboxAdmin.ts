/**
 * The outbox as the operator sees it (`lagrello outbox list|retry`): messages by status, without
 * their sealed content (it holds a live link and the recipient's address), and failed messages
 * made due again.
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Unavailable } from "../domain/errors.js"
import { sealedKeyId } from "../crypto/Sealer.js"
import type { OutboxStatus } from "../storage/Storage.js"
import { Storage } from "../storage/Storage.js"

/**
 * A message without its content.
 * @since 0.0.0
 */
export interface OutboxEntry {
  readonly id: string
  readonly tenantId: string
  readonly userId: string
  readonly status: OutboxStatus
  readonly attempts: number
  readonly createdAt: number
  readonly expiresAt: number
  readonly nextAttemptAt: number
  readonly lastError: string | undefined
  /** The key the message is sealed under. */
  readonly keyId: string | undefined
}

/**
 * Up to `limit` messages, newest first, only of `status` when given.
 * @since 0.0.0
 */
export const list = (options: { readonly status?: OutboxStatus | undefined; readonly limit: number }) =>
  Effect.flatMap(Storage, (storage) => storage.listOutboxByStatus(options.status, options.limit)).pipe(
    Effect.map((records) =>
      records.map((r): OutboxEntry => ({
        id: r.id,
        tenantId: r.tenantId,
        userId: r.userId,
        status: r.status,
        attempts: r.attempts,
        createdAt: r.createdAt,
        expiresAt: r.expiresAt,
        nextAttemptAt: r.nextAttemptAt,
        lastError: r.lastError,
        keyId: sealedKeyId(r.sealed)
      }))
    ),
    Effect.withSpan("Lagrello.OutboxAdmin.list")
  )

/**
 * Makes failed messages due again now, with their attempts from 0: those of `ids`, or every
 * failed one. A message whose link has expired, or that a newer message of its user superseded,
 * stays as it is. Answers the ids made due.
 * @since 0.0.0
 */
export const retry = (ids: ReadonlyArray<string> | "all"): Effect.Effect<ReadonlyArray<string>, Unavailable, Storage> =>
  Effect.gen(function*() {
    const storage = yield* Storage
    return yield* storage.retryFailedOutbox(ids, yield* Clock.currentTimeMillis)
  }).pipe(Effect.withSpan("Lagrello.OutboxAdmin.retry"))
