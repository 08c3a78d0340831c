/**
 * The rows of the SQL adapters (SQLite and PostgreSQL share column names) and their mapping to
 * the storage records. Timestamps are epoch milliseconds in both dialects.
 *
 * @since 0.0.0
 * @internal
 */
import type { Permission } from "../domain/permissions.js"
import type {
  AccessTokenRecord,
  ExportedUser,
  OutboxRecord,
  OutboxStatus,
  TenantRecord,
  TotpRecord,
  UserRecord
} from "./Storage.js"

export interface TenantRow {
  tenant_id: string
  name: string
  callback_url: string
  created_at: number
}
export interface TokenRow {
  token_id: string
  tenant_id: string
  name: string
  secret_hash: string
  permissions: string
  created_by: string
  created_at: number
}
export interface UserRow {
  user_id: string
  email: string | null
}
export interface TotpRow {
  confirmed_secret: string | null
  pending_secret: string | null
  pending_since: number | null
  last_step: number | null
  failures: number
  last_failure_at: number | null
  lockouts: number
  locked_until: number | null
}
export interface OutboxRow {
  id: string
  tenant_id: string
  user_id: string
  sealed: string
  created_at: number
  expires_at: number
  status: OutboxStatus
  attempts: number
  next_attempt_at: number
  last_error: string | null
  lease_until: number
}

export const tenant = (r: TenantRow): TenantRecord => ({
  tenantId: r.tenant_id,
  name: r.name,
  callbackUrl: r.callback_url,
  createdAt: r.created_at
})
export const token = (r: TokenRow): AccessTokenRecord => ({
  tokenId: r.token_id,
  tenantId: r.tenant_id,
  name: r.name,
  secretHash: r.secret_hash,
  permissions: r.permissions.split(",") as Array<Permission>,
  createdBy: r.created_by,
  createdAt: r.created_at
})
export const user = (r: UserRow): UserRecord => ({ userId: r.user_id, email: r.email ?? undefined })
export const totp = (r: TotpRow): TotpRecord => ({
  confirmedSecret: r.confirmed_secret ?? undefined,
  pendingSecret: r.pending_secret ?? undefined,
  pendingSince: r.pending_since ?? undefined,
  lastStep: r.last_step ?? undefined,
  failures: r.failures,
  lockouts: r.lockouts,
  lockedUntil: r.locked_until ?? undefined
})
export const outbox = (r: OutboxRow): OutboxRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  userId: r.user_id,
  sealed: r.sealed,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error ?? undefined,
  leaseUntil: r.lease_until
})

/** A sealed value as the operator's listing reads it (see `StorageService.listSealed`). */
export interface SealedRow {
  tenant_id: string
  user_id: string
  id: string
  sealed: string
}

/** A user with its TOTP state, as `users export` reads it (`has_totp`: 1 or true). */
export interface ExportRow {
  user_id: string
  email: string | null
  created_at: number | string
  has_totp: number | boolean
  confirmed_secret: string | null
  pending_secret: string | null
  pending_since: number | string | null
  last_step: number | string | null
}

export const exported = (r: ExportRow): ExportedUser => ({
  userId: r.user_id,
  email: r.email ?? undefined,
  // PostgreSQL's BIGINT columns come as strings.
  createdAt: Number(r.created_at),
  totp: r.has_totp === 1 || r.has_totp === true
    ? {
      confirmedSecret: r.confirmed_secret ?? undefined,
      pendingSecret: r.pending_secret ?? undefined,
      pendingSince: r.pending_since === null ? undefined : Number(r.pending_since),
      lastStep: r.last_step === null ? undefined : Number(r.last_step)
    }
    : undefined
})
