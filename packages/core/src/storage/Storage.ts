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
import type * as Scope from "effect/Scope"
import * as Context from "effect/Context"
import type { Unavailable } from "../domain/errors.js"
import type { Permission } from "../domain/permissions.js"
import type { EventLogPage, EventQuery, EventsOf, NewEvent } from "./events.js"

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
  /** When the pending secret was written: it is no longer accepted once the enrolment lifetime has passed. */
  readonly pendingSince: number | undefined
  /** The last accepted time step: no step at or before it is accepted again. */
  readonly lastStep: number | undefined
  readonly failures: number
  /**
   * Lock-outs in a row, each starting within the escalation window after the previous one ended
   * (the n-th lasts `backoff * 2^(n-1)`, at most the maximum); 0 after a right code.
   */
  readonly lockouts: number
  /** The end of the last lock-out (`undefined` after a right code). */
  readonly lockedUntil: number | undefined
}

/** The rules `beginTotpAttempt` applies, in milliseconds. @since 0.0.0 */
export interface TotpAttemptPolicy {
  /** Consecutive failures that start a lock-out. */
  readonly limit: number
  /** The first lock-out's length. */
  readonly backoffMillis: number
  /** The longest lock-out. */
  readonly maxBackoffMillis: number
  /** A lock-out that starts within this time after the previous one ended lasts twice as long. */
  readonly escalationWindowMillis: number
  /** A pending secret older than this is dropped, not compared. */
  readonly enrolmentLifetimeMillis: number
}

/** @since 0.0.0 */
export type TotpAttempt =
  /** The attempt is counted; compare the code against these secrets. */
  | { readonly _tag: "Allowed"; readonly totp: TotpRecord }
  /** Too many failures: refused until `retryAt`. */
  | { readonly _tag: "Locked"; readonly retryAt: number }
  /** The user has no TOTP state (never enabled, or no such user). */
  | { readonly _tag: "Missing" }

/**
 * `superseded`: a newer link to the same user revoked this message's link before it was delivered,
 * so it is never sent.
 * @since 0.0.0
 */
export type OutboxStatus = "pending" | "sent" | "expired" | "failed" | "superseded"

/** The pending part of the outbox (see `outboxStats`). */
export interface OutboxStats {
  readonly pending: number
  readonly oldestCreatedAt: number | undefined
}

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
  /**
   * The message carrying the link, written in the same transaction as the link. The user's
   * earlier messages that no worker is delivering right now are marked `superseded` (their links
   * are revoked); one being delivered keeps its lease, and this one waits for it: a user's
   * messages are handed to workers one at a time, in the order they were written.
   */
  readonly message: { readonly id: string; readonly sealed: string }
  /** The keyed hash of the code the message carries beside the link (none when codes are off). */
  readonly code?: EmailCodeHash | undefined
  /** Makes the link a handoff's (SPEC 5.3): it approves a sign-in waiting on another device. */
  readonly handoff?: NewHandoff | undefined
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
  /** A live handoff link: it approves the sign-in of another device and is not consumed here. */
  | { readonly _tag: "Handoff" }

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
    callbackUrl: string,
    events?: EventsOf<Option.Option<TenantRecord>>
  ) => Effect.Effect<Option.Option<TenantRecord>, Unavailable>

  /** False when a token of that id or hash exists. */
  readonly insertAccessToken: (token: AccessTokenRecord, events?: EventsOf<boolean>) => Effect.Effect<boolean, Unavailable>
  /** An active (not revoked) token by the hash of the bearer token. */
  readonly findAccessToken: (secretHash: string) => Effect.Effect<Option.Option<AccessTokenRecord>, Unavailable>
  /** Active tokens of a tenant, oldest first. */
  readonly listAccessTokens: (
    tenantId: string,
    page: { readonly offset: number; readonly limit: number }
  ) => Effect.Effect<{ readonly items: ReadonlyArray<AccessTokenRecord>; readonly total: number }, Unavailable>
  /** Revokes at once; false when the tenant has no such active token. */
  readonly revokeAccessToken: (
    tenantId: string,
    tokenId: string,
    now: number,
    events?: EventsOf<boolean>
  ) => Effect.Effect<boolean, Unavailable>

  /** False when the user already exists. */
  readonly insertUser: (
    tenantId: string,
    user: UserRecord,
    now: number,
    events?: EventsOf<boolean>
  ) => Effect.Effect<boolean, Unavailable>
  readonly getUser: (tenantId: string, userId: string) => Effect.Effect<Option.Option<UserRecord>, Unavailable>
  /** Sets the e-mail address; a change of address revokes the user's unused links. */
  readonly updateUserEmail: (
    tenantId: string,
    userId: string,
    email: string,
    events?: EventsOf<Option.Option<UserRecord>>
  ) => Effect.Effect<Option.Option<UserRecord>, Unavailable>
  /**
   * Erases the user with its e-mail, TOTP secret, links and queued messages, in one transaction.
   * Only the hashes of its live links are kept until they expire, so that such a link answers
   * `UserDeleted` rather than `Invalid`.
   */
  readonly deleteUser: (
    tenantId: string,
    userId: string,
    now: number,
    events?: EventsOf<boolean>
  ) => Effect.Effect<boolean, Unavailable>

  /**
   * Under a lock on the user: its address check, the throttle, revocation of earlier unused links,
   * the new link and its message: one transaction.
   */
  readonly issueMagicLink: (request: IssueMagicLink, events?: EventsOf<IssueResult>) => Effect.Effect<IssueResult, Unavailable>
  /** Consumes an unexpired, unused link atomically: of concurrent calls, exactly one succeeds. */
  readonly consumeMagicLink: (
    tenantId: string,
    tokenHash: string,
    now: number,
    events?: EventsOf<ConsumeResult>
  ) => Effect.Effect<ConsumeResult, Unavailable>

  readonly getTotp: (tenantId: string, userId: string) => Effect.Effect<Option.Option<TotpRecord>, Unavailable>
  /**
   * Stores a new pending secret written at `now` (a confirmed one keeps working until it is
   * confirmed), only for a user that exists in the same transaction: false (nothing written) when
   * there is none. A user deleted afterwards takes the secret with it.
   */
  readonly setPendingTotp: (
    tenantId: string,
    userId: string,
    sealed: string,
    now: number,
    events?: EventsOf<boolean>
  ) => Effect.Effect<boolean, Unavailable>
  /** Erases both secrets. */
  readonly disableTotp: (tenantId: string, userId: string, events?: EventsOf<void>) => Effect.Effect<void, Unavailable>
  /**
   * Counts an attempt before the comparison, atomically: refused while a lock-out lasts. The
   * attempt that reaches `limit` consecutive failures starts a lock-out, twice as long as the
   * previous one when that ended less than `escalationWindowMillis` ago (see
   * {@link TotpAttemptPolicy}). A pending secret past its lifetime is dropped in the same step.
   */
  readonly beginTotpAttempt: (
    tenantId: string,
    userId: string,
    now: number,
    policy: TotpAttemptPolicy,
    events?: EventsOf<TotpAttempt>
  ) => Effect.Effect<TotpAttempt, Unavailable>
  /**
   * Records a right code: only when `step` is after the last accepted one; resets the failures
   * and the lock-out escalation.
   */
  readonly acceptTotpStep: (request: AcceptTotpStep, events?: EventsOf<boolean>) => Effect.Effect<boolean, Unavailable>
  /** Some sealed TOTP secret of any user, to check a keyring against (none in an empty database). */
  readonly sampleTotpSecret: Effect.Effect<Option.Option<SealedTotpSecret>, Unavailable>

  /** The sealed check value of the encryption keyring (see `Keys.verifyKeyring`), once written. */
  readonly getKeyCheck: Effect.Effect<Option.Option<string>, Unavailable>
  /** Writes the check value unless one exists (false then: another process wrote it first). */
  readonly insertKeyCheck: (sealed: string) => Effect.Effect<boolean, Unavailable>
  /** Replaces the check value only while it is still `previous` (false otherwise). */
  readonly replaceKeyCheck: (previous: string, next: string) => Effect.Effect<boolean, Unavailable>

  /**
   * Leases up to `limit` due messages for delivery (a leased message is invisible to other
   * workers). A message is not due while an older one of the same user is still pending (due
   * later, or leased): each user's messages are delivered in the order they were written.
   */
  readonly claimOutbox: (
    now: number,
    leaseMillis: number,
    limit: number
  ) => Effect.Effect<ReadonlyArray<OutboxRecord>, Unavailable>
  /**
   * Extends the leases of messages still being worked on to `leaseUntil`, each only while
   * `claimed` still holds its lease and it is pending. Answers the ids renewed: the caller must
   * use `leaseUntil` as their lease from now on; the others were lost (or finished).
   */
  readonly renewOutboxLeases: (
    claimed: ReadonlyArray<OutboxRecord>,
    leaseUntil: number
  ) => Effect.Effect<ReadonlyArray<string>, Unavailable>
  /** Each of these changes the message only while `claimed` still holds its lease (else false). */
  readonly markOutboxSent: (claimed: OutboxRecord, events?: EventsOf<boolean>) => Effect.Effect<boolean, Unavailable>
  /** Due again at `nextAttemptAt`; `superseded` instead when a newer message of the user exists. */
  readonly retryOutbox: (
    claimed: OutboxRecord,
    nextAttemptAt: number,
    error: string
  ) => Effect.Effect<boolean, Unavailable>
  readonly finishOutbox: (
    claimed: OutboxRecord,
    status: "expired" | "failed",
    error: string,
    events?: EventsOf<boolean>
  ) => Effect.Effect<boolean, Unavailable>
  /**
   * Gives the lease back unused: the message is due again and the claim's attempt is not counted
   * (`superseded` instead when a newer message of the user exists).
   */
  readonly releaseOutbox: (claimed: OutboxRecord) => Effect.Effect<boolean, Unavailable>
  /** Newest first (the development mailbox); of messages written in the same millisecond, the last written first. */
  readonly listOutbox: (limit: number) => Effect.Effect<ReadonlyArray<OutboxRecord>, Unavailable>
  /**
   * The pending messages: how many, and when the oldest was written (undefined when none). One
   * indexed read, sampled periodically for the outbox metrics.
   */
  readonly outboxStats: Effect.Effect<OutboxStats, Unavailable>

  /**
   * Deletes links and messages that can no longer matter (expired before `before`), and the
   * pending TOTP secrets written before `enrolmentsBefore` (when given). Answers the rows removed.
   */
  readonly purge: (before: number, enrolmentsBefore?: number) => Effect.Effect<number, Unavailable>

  // -------------------------------------------------------------------------------------------
  // Recovery codes, e-mail codes and the sign-in handoff (SPEC 5). Codes are kept only as keyed
  // hashes, handoff ids only as SHA-256.

  /**
   * Replaces the user's recovery codes with a new set at once (the old ones stop working in the
   * same transaction), only while the user has a confirmed TOTP secret.
   */
  readonly replaceRecoveryCodes: (
    tenantId: string,
    userId: string,
    set: RecoveryCodeSet,
    events?: EventsOf<"Replaced" | "NoTotp" | "NoUser">
  ) => Effect.Effect<"Replaced" | "NoTotp" | "NoUser", Unavailable>
  /** The user's set: its key id, codes left unused, and when it was made (none without a set). */
  readonly getRecoveryCodes: (
    tenantId: string,
    userId: string
  ) => Effect.Effect<Option.Option<RecoveryCodeSummary>, Unavailable>
  /**
   * Uses an unused code of the user's set, atomically (of concurrent uses of one code, exactly
   * one answers true), and resets the TOTP failure count and lock-out escalation, as a right TOTP
   * code does, in the same transaction.
   */
  readonly useRecoveryCode: (
    tenantId: string,
    userId: string,
    codeHash: string,
    now: number,
    events?: EventsOf<boolean>
  ) => Effect.Effect<boolean, Unavailable>

  /** The user's live sign-in challenge that has a code: its link's hash and the code's key id. */
  readonly findEmailCode: (
    tenantId: string,
    userId: string,
    now: number
  ) => Effect.Effect<Option.Option<{ readonly tokenHash: string; readonly keyId: string }>, Unavailable>
  /**
   * One attempt at the code of a live challenge, in one atomic step: a right code consumes the
   * challenge (its link too); a wrong one is counted, and the one that reaches `limit` ends the
   * challenge (the link is revoked). Of concurrent attempts, at most `limit` wrong ones count.
   */
  readonly tryEmailCode: (attempt: EmailCodeTry, events?: EventsOf<EmailCodeAttempt>) => Effect.Effect<EmailCodeAttempt, Unavailable>

  /** The numbers to offer for a live, undecided handoff link (none otherwise). */
  readonly getHandoffChoices: (
    tenantId: string,
    tokenHash: string,
    now: number
  ) => Effect.Effect<Option.Option<ReadonlyArray<number>>, Unavailable>
  /**
   * Decides a live, undecided handoff by its link, atomically: the right number approves it (the
   * link is consumed), a wrong one denies it (the link is revoked). `Invalid` for anything else.
   */
  readonly decideHandoff: (
    tenantId: string,
    tokenHash: string,
    matchNumber: number,
    now: number,
    events?: EventsOf<HandoffDecision>
  ) => Effect.Effect<"Approved" | "Denied" | "Invalid", Unavailable>
  /**
   * A handoff's state at `now`; an approved one is handed over by this call, to exactly one
   * caller (later ones read `Expired`).
   */
  readonly readHandoff: (tenantId: string, idHash: string, now: number) => Effect.Effect<HandoffRead, Unavailable>
  /**
   * Watches a handoff for the scope: the effect answered completes at the next sign that it may
   * have changed (a decision in this process at once, any change on other replicas within the
   * adapter's poll interval). Holds no database connection while it waits.
   */
  readonly watchHandoff: (idHash: string) => Effect.Effect<Effect.Effect<void>, never, Scope.Scope>

  // -------------------------------------------------------------------------------------------
  // operator: key rotation, export/import, outbox listing

  /** Every tenant, oldest first. */
  readonly listTenants: Effect.Effect<ReadonlyArray<TenantRecord>, Unavailable>
  /** How many sealed values of each kind name each key id (one row per kind and key id). */
  readonly countSealed: Effect.Effect<ReadonlyArray<SealedCount>, Unavailable>
  /**
   * The users with unused recovery codes, per key id of their keyed hashes (these cannot be
   * re-sealed: retiring the key ends them).
   */
  readonly countRecoveryCodeSets: Effect.Effect<ReadonlyArray<{ readonly keyId: string; readonly users: number }>, Unavailable>
  /**
   * Up to `limit` sealed values of `kind` not sealed under `exceptKeyId`, in the order of their
   * `ref`, after the ref `after` (keyset paging: a value that cannot be re-sealed does not stop
   * the walk).
   */
  readonly listSealed: (
    kind: SealedKind,
    options: { readonly exceptKeyId: string; readonly after: SealedRef | undefined; readonly limit: number }
  ) => Effect.Effect<ReadonlyArray<SealedValue>, Unavailable>
  /**
   * Replaces each value with `next` only while it is still `previous` (compare-and-set: a value a
   * server changed meanwhile is left as it is), all in one transaction. Answers how many were
   * replaced.
   */
  readonly resealValues: (updates: ReadonlyArray<Reseal>) => Effect.Effect<number, Unavailable>
  /** Up to `limit` users of a tenant with their TOTP state, by user id, after `after`. */
  readonly exportUsers: (
    tenantId: string,
    after: string | undefined,
    limit: number
  ) => Effect.Effect<ReadonlyArray<ExportedUser>, Unavailable>
  /** Writes a user with its TOTP state, in one transaction; false (nothing written) when it exists. */
  readonly importUser: (tenantId: string, user: ExportedUser) => Effect.Effect<boolean, Unavailable>
  /** Up to `limit` messages, newest first, only of `status` when given. */
  readonly listOutboxByStatus: (
    status: OutboxStatus | undefined,
    limit: number
  ) => Effect.Effect<ReadonlyArray<OutboxRecord>, Unavailable>
  /**
   * Makes failed messages due again at `now` (attempts from 0): those of `ids`, or every failed
   * one. Only a message whose link has not expired and that no newer message of its user
   * supersedes. Answers the ids made due.
   */
  readonly retryFailedOutbox: (
    ids: ReadonlyArray<string> | "all",
    now: number
  ) => Effect.Effect<ReadonlyArray<string>, Unavailable>

  // -------------------------------------------------------------------------------------------
  // Events and webhooks (SPEC 6). The methods above that change auth state take `events`: the
  // events of their outcome, written in the same transaction (none on a failed write). Writing
  // an event also queues its deliveries to the tenant's enabled webhooks that subscribe to it.

  /** Writes events that report an outcome with no change of its own (a rejected code), in one step. */
  readonly appendEvents: (events: ReadonlyArray<NewEvent>) => Effect.Effect<void, Unavailable>
  /**
   * The tenant's events after a position, in log order: a reader that reads on from `next` sees
   * every event once, also while other replicas commit concurrently (an event becomes visible to
   * readers only once no event can still commit before it).
   */
  readonly listEvents: (query: EventQuery) => Effect.Effect<EventLogPage, Unavailable>
  /** Deletes events that occurred before `before`, and delivery logs created before `deliveriesBefore`. */
  readonly purgeEvents: (before: number, deliveriesBefore: number) => Effect.Effect<number, Unavailable>

  readonly insertWebhook: (webhook: WebhookRecord) => Effect.Effect<void, Unavailable>
  readonly listWebhooks: (tenantId: string) => Effect.Effect<ReadonlyArray<WebhookRecord>, Unavailable>
  readonly getWebhook: (tenantId: string, id: string) => Effect.Effect<Option.Option<WebhookRecord>, Unavailable>
  readonly deleteWebhook: (tenantId: string, id: string) => Effect.Effect<boolean, Unavailable>
  /** The new secret signs from now on, the current one beside it until `previousUntil`. */
  readonly rotateWebhookSecret: (
    tenantId: string,
    id: string,
    secret: string,
    previousUntil: number
  ) => Effect.Effect<Option.Option<WebhookRecord>, Unavailable>
  /** A webhook's deliveries, newest first, each with its attempts. */
  readonly listWebhookDeliveries: (
    tenantId: string,
    webhookId: string,
    limit: number
  ) => Effect.Effect<ReadonlyArray<WebhookDeliveryRecord>, Unavailable>
  /** Makes a delivery due again now (a failed one too), re-enabling nothing. False when unknown. */
  readonly retryWebhookDelivery: (
    tenantId: string,
    webhookId: string,
    deliveryId: string,
    now: number
  ) => Effect.Effect<boolean, Unavailable>
  /**
   * Makes every failed delivery of a webhook created at or after `since` due again now, in one
   * step, and enables the webhook again when there was one. Answers how many.
   */
  readonly retryFailedWebhookDeliveries: (
    tenantId: string,
    webhookId: string,
    since: number,
    now: number
  ) => Effect.Effect<number, Unavailable>
  /** Leases up to `limit` due deliveries of enabled webhooks, as `claimOutbox` does messages. */
  readonly claimWebhookDeliveries: (
    now: number,
    leaseMillis: number,
    limit: number
  ) => Effect.Effect<ReadonlyArray<ClaimedDelivery>, Unavailable>
  /**
   * Records an attempt of a claimed delivery (only while the claim holds its lease) and its
   * outcome: `delivered`, due again at `nextAttemptAt`, or `failed` for good. `disable`: the
   * webhook failed every attempt for too long, and is disabled with these events.
   */
  readonly recordWebhookAttempt: (attempt: WebhookAttemptResult) => Effect.Effect<boolean, Unavailable>
}

/**
 * The kinds of values sealed under the encryption keys: users' confirmed and pending TOTP secrets
 * and queued messages (the keyring's check value is re-sealed by `Keys.resealKeyCheck`).
 * @since 0.0.0
 */
export type SealedKind = "totp-confirmed" | "totp-pending" | "outbox" | "webhook-secret" | "webhook-previous-secret"

/** @since 0.0.0 */
export const sealedKinds: ReadonlyArray<SealedKind> = [
  "totp-confirmed",
  "totp-pending",
  "outbox",
  "webhook-secret",
  "webhook-previous-secret"
]

/**
 * The row a sealed value belongs to: a user's (`tenantId`, `userId`) for TOTP secrets, a
 * message's `id` (with its tenant and user) for the outbox, a webhook's `id` (with its tenant,
 * `userId` `""`) for its secrets.
 * @since 0.0.0
 */
export interface SealedRef {
  readonly tenantId: string
  readonly userId: string
  /** The outbox message's or the webhook's id; `""` for TOTP secrets. */
  readonly id: string
}

/** @since 0.0.0 */
export interface SealedValue {
  readonly kind: SealedKind
  readonly ref: SealedRef
  readonly sealed: string
}

/** @since 0.0.0 */
export interface Reseal {
  readonly kind: SealedKind
  readonly ref: SealedRef
  readonly previous: string
  readonly next: string
}

/** @since 0.0.0 */
export interface SealedCount {
  readonly kind: SealedKind
  /** The key id the values name (`""` for values that name none). */
  readonly keyId: string
  readonly count: number
}

/** A user as `users export` writes it: its TOTP secrets stay sealed. @since 0.0.0 */
export interface ExportedUser {
  readonly userId: string
  readonly email: string | undefined
  readonly createdAt: number
  readonly totp:
    | {
      readonly confirmedSecret: string | undefined
      readonly pendingSecret: string | undefined
      readonly pendingSince: number | undefined
      readonly lastStep: number | undefined
    }
    | undefined
}

/** A handoff decided: what `decideHandoff`'s events are made from. @since 0.0.0 */
export interface HandoffDecision {
  readonly outcome: "Approved" | "Denied"
  readonly userId: string
}

/** A tenant's webhook endpoint. Its secrets are sealed. @since 0.0.0 */
export interface WebhookRecord {
  readonly id: string
  readonly tenantId: string
  readonly url: string
  /** Event types, or `*`. */
  readonly events: ReadonlyArray<string>
  readonly enabled: boolean
  readonly createdAt: number
  readonly secret: string
  /** The secret before the last rotation, signing beside the new one until `previousUntil`. */
  readonly previousSecret: string | undefined
  readonly previousUntil: number | undefined
  /** Since when every attempt failed (undefined after a success). */
  readonly failingSince: number | undefined
}

/** One attempt at a delivery. @since 0.0.0 */
export interface WebhookAttemptRecord {
  readonly attemptedAt: number
  /** The HTTP status answered, if any. */
  readonly statusCode: number | undefined
  readonly durationMillis: number
  readonly error: string | undefined
}

/** @since 0.0.0 */
export type WebhookDeliveryStatus = "pending" | "delivered" | "failed"

/** @since 0.0.0 */
export interface WebhookDeliveryRecord {
  readonly id: string
  readonly webhookId: string
  readonly eventId: string
  readonly eventType: string
  readonly createdAt: number
  readonly status: WebhookDeliveryStatus
  readonly nextAttemptAt: number
  readonly attempts: ReadonlyArray<WebhookAttemptRecord>
}

/** A delivery leased to a worker, with what it needs to send it. @since 0.0.0 */
export interface ClaimedDelivery {
  readonly id: string
  readonly tenantId: string
  readonly webhookId: string
  readonly eventId: string
  /** The body: the event's JSON. */
  readonly payload: string
  readonly createdAt: number
  readonly attempts: number
  readonly leaseUntil: number
  readonly webhook: WebhookRecord
}

/** @since 0.0.0 */
export interface WebhookAttemptResult {
  readonly claimed: ClaimedDelivery
  readonly attempt: WebhookAttemptRecord
  readonly outcome:
    | { readonly _tag: "Delivered" }
    | { readonly _tag: "Retry"; readonly nextAttemptAt: number }
    | { readonly _tag: "Failed" }
  /** Disables the webhook (it failed every attempt too long), writing these events. */
  readonly disable?: ReadonlyArray<NewEvent> | undefined
}

/** The keyed hash of a sign-in mail's code and the key it was derived from. @since 0.0.0 */
export interface EmailCodeHash {
  readonly hash: string
  readonly keyId: string
}

/** A handoff written with its link. @since 0.0.0 */
export interface NewHandoff {
  /** SHA-256 of the handoff id. */
  readonly idHash: string
  readonly matchNumber: number
  /** The three numbers offered, the match among them, in the order to show them. */
  readonly choices: ReadonlyArray<number>
}

/** A new set of recovery codes: the keyed hash of each, and the key they were derived from. @since 0.0.0 */
export interface RecoveryCodeSet {
  readonly keyId: string
  readonly hashes: ReadonlyArray<string>
  readonly createdAt: number
}

/** @since 0.0.0 */
export interface RecoveryCodeSummary {
  readonly keyId: string
  readonly remaining: number
  readonly createdAt: number
}

/** @since 0.0.0 */
export interface EmailCodeTry {
  readonly tenantId: string
  /** The challenge, as `findEmailCode` answered it. */
  readonly tokenHash: string
  readonly codeHash: string
  readonly now: number
  /** Wrong codes that end the challenge. */
  readonly limit: number
}

/** @since 0.0.0 */
export type EmailCodeAttempt =
  | { readonly _tag: "Consumed"; readonly userId: string }
  /** Counted; `ended` when it was the last wrong code the challenge allowed. */
  | { readonly _tag: "Wrong"; readonly ended: boolean }
  /** The challenge is no longer live (used, expired, revoked or ended). */
  | { readonly _tag: "Invalid" }

/** @since 0.0.0 */
export type HandoffRead =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Pending"; readonly expiresAt: number }
  /** Approved, and handed over to this reader. */
  | { readonly _tag: "Approved"; readonly user: UserRecord }
  | { readonly _tag: "Denied" }
  | { readonly _tag: "Expired" }

/** A sealed TOTP secret with the row it is bound to. @since 0.0.0 */
export interface SealedTotpSecret {
  readonly tenantId: string
  readonly userId: string
  readonly sealed: string
}

/**
 * @since 0.0.0
 * @category tags
 */
export class Storage extends Context.Tag("@lagrello/core/Storage")<Storage, StorageService>() {}
