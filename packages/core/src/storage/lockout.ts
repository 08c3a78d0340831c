/**
 * The arithmetic of the escalating TOTP back-off, shared by the storage adapters (the SQL ones
 * evaluate the same rules in their attempt statement, with the numbers computed here).
 *
 * @since 0.0.0
 * @internal
 */
import type { TotpAttemptPolicy } from "./Storage.js"

/**
 * The highest lock-out level worth counting: the first whose length reaches the maximum. Levels
 * are capped there, so that counts (and the shift `backoff << (level - 1)` of the SQL adapters)
 * stay small however long the lock-outs go on.
 */
export const maxLockoutLevel = (policy: TotpAttemptPolicy): number => {
  let level = 1
  while (policy.backoffMillis * 2 ** (level - 1) < policy.maxBackoffMillis) level++
  return level
}

/** How long the lock-out of `level` (1 for the first) lasts. */
export const lockoutMillis = (level: number, policy: TotpAttemptPolicy): number =>
  Math.min(policy.maxBackoffMillis, policy.backoffMillis * 2 ** (Math.min(level, maxLockoutLevel(policy)) - 1))

/**
 * The end of the lock-out of a row, if any. Rows of before the escalation (schema version 1)
 * have no `lockedUntil`: their lock-out ends `backoff` after the failure that reached the limit,
 * as it did then, so that an upgrade does not lift a lock-out.
 */
export const lockoutEnd = (
  row: {
    readonly failures: number
    readonly lastFailureAt: number | undefined
    readonly lockedUntil: number | undefined
  },
  policy: TotpAttemptPolicy
): number | undefined =>
  row.lockedUntil ??
  (row.failures >= policy.limit && row.lastFailureAt !== undefined ? row.lastFailureAt + policy.backoffMillis : undefined)
