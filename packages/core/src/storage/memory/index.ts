/**
 * The in-memory storage layer, for fast unit tests and trying things out. Every method runs
 * synchronously on plain maps, so each one is atomic within the process. Nothing survives a
 * restart and nothing is shared between processes: never use it for a deployment.
 *
 * @since 0.0.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type {
  AccessTokenRecord,
  OutboxRecord,
  StorageService,
  TenantRecord,
  TotpRecord,
  UserRecord
} from "../Storage.js"
import { Storage } from "../Storage.js"

interface LinkRow {
  readonly tenantId: string
  readonly userId: string
  readonly createdAt: number
  readonly expiresAt: number
  consumedAt: number | undefined
  revoked: "replaced" | "email-changed" | "user-deleted" | undefined
}

interface TotpRow {
  confirmedSecret: string | undefined
  pendingSecret: string | undefined
  lastStep: number | undefined
  failures: number
  lastFailureAt: number | undefined
}

interface OutboxRow {
  record: OutboxRecord
}

const key = (tenantId: string, userId: string) => `${tenantId}\u0000${userId}`

/**
 * Builds a fresh, empty in-memory store.
 * @since 0.0.0
 */
export const makeMemoryStorage = (): StorageService => {
  const tenants = new Map<string, TenantRecord>()
  const tokens = new Map<string, AccessTokenRecord & { revokedAt: number | undefined }>()
  const users = new Map<string, UserRecord>()
  const links = new Map<string, LinkRow>()
  const totp = new Map<string, TotpRow>()
  const outbox = new Map<string, OutboxRow>()

  const revokeUnused = (tenantId: string, userId: string, reason: LinkRow["revoked"]) => {
    for (const link of links.values()) {
      if (link.tenantId === tenantId && link.userId === userId && !link.consumedAt && !link.revoked) {
        link.revoked = reason
      }
    }
  }
  const totpRecord = (row: TotpRow): TotpRecord => ({
    confirmedSecret: row.confirmedSecret,
    pendingSecret: row.pendingSecret,
    lastStep: row.lastStep,
    failures: row.failures
  })
  const activeToken = (tokenId: string) => {
    const t = tokens.get(tokenId)
    if (!t || t.revokedAt !== undefined) return undefined
    const { revokedAt: _revokedAt, ...record } = t
    return record
  }

  // Changes a message only while the claim still holds its lease.
  const update = (claimed: OutboxRecord, change: (record: OutboxRecord) => OutboxRecord) =>
    Effect.sync(() => {
      const row = outbox.get(claimed.id)
      if (!row || row.record.leaseUntil !== claimed.leaseUntil) return false
      row.record = change(row.record)
      return true
    })

  return {
    insertTenant: (tenant) =>
      Effect.sync(() => {
        if (tenants.has(tenant.tenantId) || [...tenants.values()].some((t) => t.name === tenant.name)) return false
        tenants.set(tenant.tenantId, tenant)
        return true
      }),
    getTenant: (tenantId) => Effect.sync(() => Option.fromNullable(tenants.get(tenantId))),
    findTenantByName: (name) =>
      Effect.sync(() => Option.fromNullable([...tenants.values()].find((t) => t.name === name))),
    setTenantCallbackUrl: (tenantId, callbackUrl) =>
      Effect.sync(() => {
        const t = tenants.get(tenantId)
        if (!t) return Option.none()
        const updated = { ...t, callbackUrl }
        tenants.set(tenantId, updated)
        return Option.some(updated)
      }),

    insertAccessToken: (token) =>
      Effect.sync(() => {
        if (tokens.has(token.tokenId) || [...tokens.values()].some((t) => t.secretHash === token.secretHash)) return false
        tokens.set(token.tokenId, { ...token, revokedAt: undefined })
        return true
      }),
    findAccessToken: (secretHash) =>
      Effect.sync(() =>
        Option.fromNullable([...tokens.keys()].map(activeToken).find((t) => t?.secretHash === secretHash))
      ),
    listAccessTokens: (tenantId, { limit, offset }) =>
      Effect.sync(() => {
        const all = [...tokens.keys()]
          .map(activeToken)
          .filter((t): t is AccessTokenRecord => t !== undefined && t.tenantId === tenantId)
          .sort((a, b) => a.createdAt - b.createdAt || a.tokenId.localeCompare(b.tokenId))
        return { items: all.slice(offset, offset + limit), total: all.length }
      }),
    revokeAccessToken: (tenantId, tokenId, now) =>
      Effect.sync(() => {
        const t = tokens.get(tokenId)
        if (!t || t.tenantId !== tenantId || t.revokedAt !== undefined) return false
        t.revokedAt = now
        return true
      }),

    insertUser: (tenantId, user) =>
      Effect.sync(() => {
        const k = key(tenantId, user.userId)
        if (users.has(k)) return false
        users.set(k, user)
        return true
      }),
    getUser: (tenantId, userId) => Effect.sync(() => Option.fromNullable(users.get(key(tenantId, userId)))),
    updateUserEmail: (tenantId, userId, email) =>
      Effect.sync(() => {
        const k = key(tenantId, userId)
        const u = users.get(k)
        if (!u) return Option.none()
        if (u.email !== email) revokeUnused(tenantId, userId, "email-changed")
        const updated = { ...u, email }
        users.set(k, updated)
        return Option.some(updated)
      }),
    deleteUser: (tenantId, userId) =>
      Effect.sync(() => {
        const k = key(tenantId, userId)
        if (!users.delete(k)) return false
        totp.delete(k)
        for (const link of links.values()) {
          if (link.tenantId === tenantId && link.userId === userId && !link.consumedAt) link.revoked = "user-deleted"
        }
        for (const [id, row] of outbox) {
          if (row.record.tenantId === tenantId && row.record.userId === userId) outbox.delete(id)
        }
        return true
      }),

    issueMagicLink: (r) =>
      Effect.sync(() => {
        if (users.get(key(r.tenantId, r.userId))?.email !== r.email) return { _tag: "UserChanged" } as const
        const recent = [...links.values()]
          .filter((l) => l.tenantId === r.tenantId && l.userId === r.userId && l.createdAt > r.now - r.windowMillis)
          .map((l) => l.createdAt)
          .sort((a, b) => a - b)
        if (recent.length >= r.limit) {
          return { _tag: "Throttled", retryAt: recent[recent.length - r.limit]! + r.windowMillis } as const
        }
        revokeUnused(r.tenantId, r.userId, "replaced")
        links.set(r.tokenHash, {
          tenantId: r.tenantId,
          userId: r.userId,
          createdAt: r.now,
          expiresAt: r.expiresAt,
          consumedAt: undefined,
          revoked: undefined
        })
        outbox.set(r.message.id, {
          record: {
            id: r.message.id,
            tenantId: r.tenantId,
            userId: r.userId,
            sealed: r.message.sealed,
            createdAt: r.now,
            expiresAt: r.expiresAt,
            status: "pending",
            attempts: 0,
            nextAttemptAt: r.now,
            lastError: undefined,
            leaseUntil: 0
          }
        })
        return { _tag: "Issued" } as const
      }),
    consumeMagicLink: (tenantId, tokenHash, now) =>
      Effect.sync(() => {
        const link = links.get(tokenHash)
        if (!link || link.tenantId !== tenantId) return { _tag: "Invalid" } as const
        if (link.revoked === "user-deleted") return { _tag: "UserDeleted" } as const
        if (link.consumedAt !== undefined || link.revoked || link.expiresAt <= now) return { _tag: "Invalid" } as const
        link.consumedAt = now
        return { _tag: "Consumed", userId: link.userId } as const
      }),

    getTotp: (tenantId, userId) =>
      Effect.sync(() => Option.map(Option.fromNullable(totp.get(key(tenantId, userId))), totpRecord)),
    setPendingTotp: (tenantId, userId, sealed) =>
      Effect.sync(() => {
        const k = key(tenantId, userId)
        const row = totp.get(k)
        if (row) row.pendingSecret = sealed
        else
          totp.set(k, {
            confirmedSecret: undefined,
            pendingSecret: sealed,
            lastStep: undefined,
            failures: 0,
            lastFailureAt: undefined
          })
      }),
    disableTotp: (tenantId, userId) =>
      Effect.sync(() => {
        const row = totp.get(key(tenantId, userId))
        if (row) {
          row.confirmedSecret = undefined
          row.pendingSecret = undefined
        }
      }),
    beginTotpAttempt: (tenantId, userId, now, { backoffMillis, limit }) =>
      Effect.sync(() => {
        const row = totp.get(key(tenantId, userId))
        if (!row) return { _tag: "Missing" } as const
        if (row.failures >= limit && row.lastFailureAt !== undefined && row.lastFailureAt > now - backoffMillis) {
          return { _tag: "Locked", retryAt: row.lastFailureAt + backoffMillis } as const
        }
        row.failures = row.failures >= limit ? 1 : row.failures + 1
        row.lastFailureAt = now
        return { _tag: "Allowed", totp: totpRecord(row) } as const
      }),
    acceptTotpStep: ({ kind, secret, step, tenantId, userId }) =>
      Effect.sync(() => {
        const row = totp.get(key(tenantId, userId))
        if (!row) return false
        if (row.lastStep !== undefined && row.lastStep >= step) return false
        if (kind === "confirmed" ? row.confirmedSecret !== secret : row.pendingSecret !== secret) return false
        if (kind === "pending") {
          row.confirmedSecret = row.pendingSecret
          row.pendingSecret = undefined
        }
        row.lastStep = step
        row.failures = 0
        row.lastFailureAt = undefined
        return true
      }),

    claimOutbox: (now, leaseMillis, limit) =>
      Effect.sync(() => {
        const due = [...outbox.values()]
          .filter((row) => row.record.status === "pending" && row.record.nextAttemptAt <= now && row.record.leaseUntil <= now)
          .sort((a, b) => a.record.nextAttemptAt - b.record.nextAttemptAt)
          .slice(0, limit)
        for (const row of due) {
          row.record = { ...row.record, attempts: row.record.attempts + 1, leaseUntil: now + leaseMillis }
        }
        return due.map((row) => row.record)
      }),
    markOutboxSent: (c) => update(c, (r) => ({ ...r, status: "sent", lastError: undefined })),
    retryOutbox: (c, nextAttemptAt, error) =>
      update(c, (r) => ({ ...r, nextAttemptAt, lastError: error, leaseUntil: 0 })),
    finishOutbox: (c, status, error) => update(c, (r) => ({ ...r, status, lastError: error })),
    releaseOutbox: (c) => update(c, (r) => ({ ...r, attempts: r.attempts - 1, leaseUntil: 0 })),
    listOutbox: (limit) =>
      Effect.sync(() =>
        [...outbox.values()]
          .map((row) => row.record)
          .sort((a, b) => b.createdAt - a.createdAt)
          .slice(0, limit)
      ),

    purge: (before) =>
      Effect.sync(() => {
        let n = 0
        for (const [hash, link] of links) {
          if (link.expiresAt < before && link.createdAt < before) {
            links.delete(hash)
            n++
          }
        }
        for (const [id, row] of outbox) {
          if (row.record.status !== "pending" && row.record.expiresAt < before) {
            outbox.delete(id)
            n++
          }
        }
        return n
      })
  }
}

/**
 * A layer with a fresh, empty in-memory store.
 * @since 0.0.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Storage> = Layer.sync(Storage, makeMemoryStorage)
