/**
 * The storage port. Each method is one atomic step of an operation: the adapters (memory, SQLite,
 * PostgreSQL) make each one a single statement or a single transaction, so that the rules that
 * must hold under concurrency (single-use links, TOTP replay, the failure counter, the send
 * throttle) are enforced by the store, never by process memory.
 *
 * Times are epoch milliseconds taken from Effect's `Clock` by the caller, so tests control them.
 *
 * @since 0.0.0
 */
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Context from "effect/Context"
import type { Unavailable } from "../domain/errors.js"
import type { Permission } from "../domain/permissions.js"

/** @since 0.0.0 */
export interface TenantRecord {
  readonly tenantId: string
  readonly name: string
  /** `""` until one is set. */
  readonly callbackUrl: string
  readonly createdAt: number
}

/** @since 0.0.0 */
export interface UserRecord {
  readonly userId: string
  readonly email: string | undefined
}

/** @since 0.0.0 */
export interface AccessTokenRecord {
  /** The public id (a UUID), what the token list shows. */
  readonly tokenId: string
  readonly tenantId: string
  readonly name: string
  /** SHA-256 of the whole bearer token, base64url: the token itself is never stored. */
  readonly secretHash: string
  readonly permissions: ReadonlyArray<Permission>
  /** The id of the token that created it, or `"bootstrap"`. */
  readonly createdBy: string
  readonly createdAt: number
}

/** A user's TOTP state. Secrets are sealed (AES-256-GCM) and never stored in clear. @since 0.0.0 */
export interface TotpRecord {
  readonly confirmedSecret: string | undefined
  readonly pendingSecret: string | undefined
  /** The last accepted time step: no step at or before it is accepted again. */
  readonly lastStep: number | undefined
  readonly failures: number
}

/** @since 0.0.0 */
export type TotpAttempt =
  /** The attempt is counted; compare the code against these secrets. */
  | { readonly _tag: "Allowed"; readonly totp: TotpRecord }
  /** Too many failures: refused until `retryAt`. */
  | { readonly _tag: "Locked"; readonly retryAt: number }
  /** The user has no TOTP state (never enabled, or no such user). */
  | { readonly _tag: "Missing" }

/** @since 0.0.0 */
export type OutboxStatus = "pending" | "sent" | "expired" | "failed"

/** A message waiting in (or delivered from) the transactional outbox. @since 0.0.0 */
export interface OutboxRecord {
  readonly id: string
  readonly tenantId: string
  readonly userId: string
  /** The sealed message (recipient, subject, bodies): it holds a live link. */
  readonly sealed: string
  readonly createdAt: number
  /** When the link inside expires: the message is dropped rather than delivered after it. */
  readonly expiresAt: number
  readonly status: OutboxStatus
  readonly attempts: number
  readonly nextAttemptAt: number
  readonly lastError: string | undefined
  /**
   * The end of the current lease (0 when none). Each claim sets a later one, so it fences the
   * claim: updates with a lapsed lease, after another worker took the message over, change nothing.
   */
  readonly leaseUntil: number
}

/** @since 0.0.0 */
export interface IssueMagicLink {
  readonly tenantId: string
  readonly userId: string
  /** The address the message goes to: nothing is written unless it is still the user's. */
  readonly email: string
  readonly tokenHash: string
  readonly now: number
  readonly expiresAt: number
  /** At most `limit` links per user within `windowMillis` before `now`. */
  readonly limit: number
  readonly windowMillis: number
  /** The message carrying the link, written in the same transaction as the link. */
  readonly message: { readonly id: string; readonly sealed: string }
}

/** @since 0.0.0 */
export type IssueResult =
  | { readonly _tag: "Issued" }
  /** Over the send limit; nothing was written and earlier links stay valid. */
  | { readonly _tag: "Throttled"; readonly retryAt: number }
  /** The user was deleted or changed address since the caller read it; nothing was written. */
  | { readonly _tag: "UserChanged" }

/** @since 0.0.0 */
export type ConsumeResult =
  | { readonly _tag: "Consumed"; readonly userId: string }
  /** The link belonged to a user deleted since it was sent. */
  | { readonly _tag: "UserDeleted" }
  /** Unknown, expired, revoked or already used. */
  | { readonly _tag: "Invalid" }

/** @since 0.0.0 */
export interface AcceptTotpStep {
  readonly tenantId: string
  readonly userId: string
  readonly step: number
  /** The sealed secret the code matched, as read by the attempt (guards against a concurrent change). */
  readonly secret: string
  /** `pending`: the match confirms a pending enrolment, which replaces the confirmed secret. */
  readonly kind: "confirmed" | "pending"
}

/** @since 0.0.0 */
export interface StorageService {
  /** False when a tenant of that id or name exists (so replicas starting at once can race safely). */
  readonly insertTenant: (tenant: TenantRecord) => Effect.Effect<boolean, Unavailable>
  readonly getTenant: (tenantId: string) => Effect.Effect<Option.Option<TenantRecord>, Unavailable>
  readonly findTenantByName: (name: string) => Effect.Effect<Option.Option<TenantRecord>, Unavailable>
  readonly setTenantCallbackUrl: (
    tenantId: string,
    callbackUrl: string
  ) => Effect.Effect<Option.Option<TenantRecord>, Unavailable>

  /** False when a token of that id or hash exists. */
  readonly insertAccessToken: (token: AccessTokenRecord) => Effect.Effect<boolean, Unavailable>
  /** An active (not revoked) token by the hash of the bearer token. */
  readonly findAccessToken: (secretHash: string) => Effect.Effect<Option.Option<AccessTokenRecord>, Unavailable>
  /** Active tokens of a tenant, oldest first. */
  readonly listAccessTokens: (
    tenantId: string,
    page: { readonly offset: number; readonly limit: number }
  ) => Effect.Effect<{ readonly items: ReadonlyArray<AccessTokenRecord>; readonly total: number }, Unavailable>
  /** Revokes at once; false when the tenant has no such active token. */
  readonly revokeAccessToken: (tenantId: string, tokenId: string, now: number) => Effect.Effect<boolean, Unavailable>

  /** False when the user already exists. */
  readonly insertUser: (tenantId: string, user: UserRecord, now: number) => Effect.Effect<boolean, Unavailable>
  readonly getUser: (tenantId: string, userId: string) => Effect.Effect<Option.Option<UserRecord>, Unavailable>
  /** Sets the e-mail address; a change of address revokes the user's unused links. */
  readonly updateUserEmail: (
    tenantId: string,
    userId: string,
    email: string
  ) => Effect.Effect<Option.Option<UserRecord>, Unavailable>
  /** Erases the user, its e-mail, TOTP secret and queued messages, and revokes its links. */
  readonly deleteUser: (tenantId: string, userId: string, now: number) => Effect.Effect<boolean, Unavailable>

  /**
   * Under a lock on the user: its address check, the throttle, revocation of earlier unused links,
   * the new link and its message: one transaction.
   */
  readonly issueMagicLink: (request: IssueMagicLink) => Effect.Effect<IssueResult, Unavailable>
  /** Consumes an unexpired, unused link atomically: of concurrent calls, exactly one succeeds. */
  readonly consumeMagicLink: (
    tenantId: string,
    tokenHash: string,
    now: number
  ) => Effect.Effect<ConsumeResult, Unavailable>

  readonly getTotp: (tenantId: string, userId: string) => Effect.Effect<Option.Option<TotpRecord>, Unavailable>
  /** Stores a new pending secret (a confirmed one keeps working until it is confirmed). */
  readonly setPendingTotp: (tenantId: string, userId: string, sealed: string) => Effect.Effect<void, Unavailable>
  /** Erases both secrets. */
  readonly disableTotp: (tenantId: string, userId: string) => Effect.Effect<void, Unavailable>
  /**
   * Counts an attempt before the comparison, atomically: refused while `limit` consecutive
   * failures are less than `backoffMillis` old.
   */
  readonly beginTotpAttempt: (
    tenantId: string,
    userId: string,
    now: number,
    policy: { readonly limit: number; readonly backoffMillis: number }
  ) => Effect.Effect<TotpAttempt, Unavailable>
  /** Records a right code: only when `step` is after the last accepted one; resets the failures. */
  readonly acceptTotpStep: (request: AcceptTotpStep) => Effect.Effect<boolean, Unavailable>

  /** Leases up to `limit` due messages for delivery (a leased message is invisible to other workers). */
  readonly claimOutbox: (
    now: number,
    leaseMillis: number,
    limit: number
  ) => Effect.Effect<ReadonlyArray<OutboxRecord>, Unavailable>
  /** Each of these changes the message only while `claimed` still holds its lease (else false). */
  readonly markOutboxSent: (claimed: OutboxRecord) => Effect.Effect<boolean, Unavailable>
  readonly retryOutbox: (
    claimed: OutboxRecord,
    nextAttemptAt: number,
    error: string
  ) => Effect.Effect<boolean, Unavailable>
  readonly finishOutbox: (
    claimed: OutboxRecord,
    status: "expired" | "failed",
    error: string
  ) => Effect.Effect<boolean, Unavailable>
  /** Gives the lease back unused: the message is due again and the claim's attempt is not counted. */
  readonly releaseOutbox: (claimed: OutboxRecord) => Effect.Effect<boolean, Unavailable>
  /** Newest first (the development mailbox). */
  readonly listOutbox: (limit: number) => Effect.Effect<ReadonlyArray<OutboxRecord>, Unavailable>

  /** Deletes links and messages that can no longer matter (expired before `before`). */
  readonly purge: (before: number) => Effect.Effect<number, Unavailable>
}

/**
 * @since 0.0.0
 * @category tags
 */
export class Storage extends Context.Tag("@lagrello/core/Storage")<Storage, StorageService>() {}
