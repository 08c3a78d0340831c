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
import { makeHandoffWatch } from "../handoffWatch.js"
import { lockoutEnd, lockoutMillis, maxLockoutLevel } from "../lockout.js"
import { sealedKeyId } from "../../crypto/Sealer.js"
import type { EventRecord, EventsOf, NewEvent } from "../events.js"
import { compareCursors, eventJson, newEventId, startCursor, subscribes } from "../events.js"
import type {
  AccessTokenRecord,
  ClaimedDelivery,
  ExportedUser,
  OutboxRecord,
  SealedCount,
  SealedKind,
  SealedRef,
  SealedValue,
  WebhookAttemptRecord,
  WebhookDeliveryRecord,
  WebhookDeliveryStatus,
  WebhookRecord,
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
  revoked: "replaced" | "email-changed" | "code-failures" | "handoff-denied" | undefined
  /** The keyed hash of the mail's code, its key id, and the wrong codes counted (SPEC 5.2). */
  readonly codeHash: string | undefined
  readonly codeKeyId: string | undefined
  codeFailures: number
  /** A handoff's link (SPEC 5.3): it approves another device's sign-in. */
  readonly handoff: boolean
}

interface HandoffRow {
  readonly tenantId: string
  readonly userId: string
  readonly tokenHash: string
  readonly matchNumber: number
  readonly choices: ReadonlyArray<number>
  readonly expiresAt: number
  /** `claimed`: approved, and handed over to one reader. */
  status: "pending" | "approved" | "denied" | "claimed"
}

interface RecoveryRow {
  readonly keyId: string
  readonly createdAt: number
  /** Keyed hash -> when it was used. */
  readonly codes: Map<string, number | undefined>
}

interface TotpRow {
  confirmedSecret: string | undefined
  pendingSecret: string | undefined
  pendingSince: number | undefined
  lastStep: number | undefined
  failures: number
  lastFailureAt: number | undefined
  lockouts: number
  lockedUntil: number | undefined
}

interface OutboxRow {
  record: OutboxRecord
  /** The order of writing: a user's messages are delivered in it. */
  readonly seq: number
}

interface DeliveryRow {
  readonly tenantId: string
  readonly webhookId: string
  readonly eventId: string
  readonly eventType: string
  readonly payload: string
  readonly createdAt: number
  readonly seq: number
  status: WebhookDeliveryStatus
  attempts: number
  nextAttemptAt: number
  leaseUntil: number
  readonly log: Array<WebhookAttemptRecord>
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
  // The hashes of the live links of deleted users, until they expire (see deleteUser).
  const deletedUserLinks = new Map<string, { readonly tenantId: string; readonly expiresAt: number }>()
  const totp = new Map<string, TotpRow>()
  const outbox = new Map<string, OutboxRow>()
  let outboxSeq = 0
  let keyCheck: string | undefined
  const recoveryCodes = new Map<string, RecoveryRow>()
  const handoffs = new Map<string, HandoffRow>()
  // operator: when each user was created (what `users export` writes).
  const userCreatedAt = new Map<string, number>()
  // Events and webhooks (SPEC 6).
  const eventLog: Array<EventRecord> = []
  let eventSeq = 0
  const webhooks = new Map<string, WebhookRecord>()
  const deliveries = new Map<string, DeliveryRow>()
  let deliverySeq = 0

  // Each event gets its id and position here, in the step that writes it, and a delivery for
  // each enabled webhook of its tenant that subscribes to it.
  const writeEvents = (list: ReadonlyArray<NewEvent>) => {
    for (const event of list) {
      const id = newEventId(event.occurredAt)
      eventLog.push({ ...event, id, cursor: { position: String(++eventSeq), id } })
      for (const webhook of webhooks.values()) {
        if (webhook.tenantId !== event.tenantId || !webhook.enabled || !subscribes(webhook.events, event.type)) continue
        deliveries.set(key(webhook.id, id), {
          tenantId: event.tenantId,
          webhookId: webhook.id,
          eventId: id,
          eventType: event.type,
          payload: JSON.stringify(eventJson({ ...event, id })),
          createdAt: event.occurredAt,
          seq: ++deliverySeq,
          status: "pending",
          attempts: 0,
          nextAttemptAt: event.occurredAt,
          leaseUntil: 0,
          log: []
        })
      }
    }
  }
  const withEvents = <A>(events: EventsOf<A> | undefined, run: () => A) => () => {
    const result = run()
    if (events !== undefined) writeEvents(events(result))
    return result
  }
  const deliveryRecord = (row: DeliveryRow): WebhookDeliveryRecord => ({
    id: row.eventId,
    webhookId: row.webhookId,
    eventId: row.eventId,
    eventType: row.eventType,
    createdAt: row.createdAt,
    status: row.status,
    nextAttemptAt: row.nextAttemptAt,
    attempts: [...row.log]
  })

  const liveLink = (link: LinkRow | undefined, now: number): link is LinkRow =>
    link !== undefined && link.consumedAt === undefined && !link.revoked && link.expiresAt > now
  const handoffByLink = (tokenHash: string) => {
    for (const [idHash, row] of handoffs) if (row.tokenHash === tokenHash) return [idHash, row] as const
    return undefined
  }
  const watch = makeHandoffWatch((ids) =>
    Effect.sync(() => new Set(ids.filter((id) => {
      const row = handoffs.get(id)
      const link = row === undefined ? undefined : links.get(row.tokenHash)
      return row?.status === "pending" && link !== undefined && link.consumedAt === undefined && !link.revoked
    })))
  )

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
    pendingSince: row.pendingSince,
    lastStep: row.lastStep,
    failures: row.failures,
    lockouts: row.lockouts,
    lockedUntil: row.lockedUntil
  })
  const sameUser = (a: OutboxRecord, b: OutboxRecord) => a.tenantId === b.tenantId && a.userId === b.userId
  const hasNewer = (row: OutboxRow) =>
    [...outbox.values()].some((other) => sameUser(other.record, row.record) && other.seq > row.seq)
  const activeToken = (tokenId: string) => {
    const t = tokens.get(tokenId)
    if (!t || t.revokedAt !== undefined) return undefined
    const { revokedAt: _revokedAt, ...record } = t
    return record
  }

  // Changes a message only while the claim still holds its lease.
  const update = (
    claimed: OutboxRecord,
    change: (record: OutboxRecord, row: OutboxRow) => OutboxRecord,
    events?: EventsOf<boolean>
  ) =>
    Effect.sync(withEvents(events, () => {
      const row = outbox.get(claimed.id)
      if (!row || row.record.leaseUntil !== claimed.leaseUntil) return false
      row.record = change(row.record, row)
      return true
    }))

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
    setTenantCallbackUrl: (tenantId, callbackUrl, events) =>
      Effect.sync(withEvents(events, () => {
        const t = tenants.get(tenantId)
        if (!t) return Option.none()
        const updated = { ...t, callbackUrl }
        tenants.set(tenantId, updated)
        return Option.some(updated)
      })),

    insertAccessToken: (token, events) =>
      Effect.sync(withEvents(events, () => {
        if (tokens.has(token.tokenId) || [...tokens.values()].some((t) => t.secretHash === token.secretHash)) return false
        tokens.set(token.tokenId, { ...token, revokedAt: undefined })
        return true
      })),
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
    revokeAccessToken: (tenantId, tokenId, now, events) =>
      Effect.sync(withEvents(events, () => {
        const t = tokens.get(tokenId)
        if (!t || t.tenantId !== tenantId || t.revokedAt !== undefined) return false
        t.revokedAt = now
        return true
      })),

    insertUser: (tenantId, user, now, events) =>
      Effect.sync(withEvents(events, () => {
        const k = key(tenantId, user.userId)
        if (users.has(k)) return false
        users.set(k, user)
        userCreatedAt.set(k, now)
        return true
      })),
    getUser: (tenantId, userId) => Effect.sync(() => Option.fromNullable(users.get(key(tenantId, userId)))),
    updateUserEmail: (tenantId, userId, email, events) =>
      Effect.sync(withEvents(events, () => {
        const k = key(tenantId, userId)
        const u = users.get(k)
        if (!u) return Option.none()
        if (u.email !== email) revokeUnused(tenantId, userId, "email-changed")
        const updated = { ...u, email }
        users.set(k, updated)
        return Option.some(updated)
      })),
    deleteUser: (tenantId, userId, now, events) =>
      Effect.sync(withEvents(events, () => {
        const k = key(tenantId, userId)
        if (!users.delete(k)) return false
        totp.delete(k)
        recoveryCodes.delete(k)
        for (const [idHash, row] of handoffs) {
          if (row.tenantId === tenantId && row.userId === userId) handoffs.delete(idHash)
        }
        for (const [hash, link] of links) {
          if (link.tenantId !== tenantId || link.userId !== userId) continue
          if (link.consumedAt === undefined && !link.revoked && link.expiresAt > now) {
            deletedUserLinks.set(hash, { tenantId, expiresAt: link.expiresAt })
          }
          links.delete(hash)
        }
        for (const [id, row] of outbox) {
          if (row.record.tenantId === tenantId && row.record.userId === userId) outbox.delete(id)
        }
        return true
      })),

    issueMagicLink: (r, events) =>
      Effect.sync(withEvents(events, () => {
        if (users.get(key(r.tenantId, r.userId))?.email !== r.email) return { _tag: "UserChanged" } as const
        const recent = [...links.values()]
          .filter((l) => l.tenantId === r.tenantId && l.userId === r.userId && l.createdAt > r.now - r.windowMillis)
          .map((l) => l.createdAt)
          .sort((a, b) => a - b)
        if (recent.length >= r.limit) {
          return { _tag: "Throttled", retryAt: recent[recent.length - r.limit]! + r.windowMillis } as const
        }
        revokeUnused(r.tenantId, r.userId, "replaced")
        // Their messages not handed to a worker would carry dead links: never sent.
        for (const row of outbox.values()) {
          const m = row.record
          if (m.tenantId === r.tenantId && m.userId === r.userId && m.status === "pending" && m.leaseUntil <= r.now) {
            row.record = { ...m, status: "superseded" }
          }
        }
        links.set(r.tokenHash, {
          tenantId: r.tenantId,
          userId: r.userId,
          createdAt: r.now,
          expiresAt: r.expiresAt,
          consumedAt: undefined,
          revoked: undefined,
          codeHash: r.code?.hash,
          codeKeyId: r.code?.keyId,
          codeFailures: 0,
          handoff: r.handoff !== undefined
        })
        if (r.handoff !== undefined) {
          handoffs.set(r.handoff.idHash, {
            tenantId: r.tenantId,
            userId: r.userId,
            tokenHash: r.tokenHash,
            matchNumber: r.handoff.matchNumber,
            choices: r.handoff.choices,
            expiresAt: r.expiresAt,
            status: "pending"
          })
        }
        outbox.set(r.message.id, {
          seq: ++outboxSeq,
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
      })),
    consumeMagicLink: (tenantId, tokenHash, now, events) =>
      Effect.sync(withEvents(events, () => {
        const link = links.get(tokenHash)
        if (!link || link.tenantId !== tenantId) {
          return deletedUserLinks.get(tokenHash)?.tenantId === tenantId
            ? ({ _tag: "UserDeleted" } as const)
            : ({ _tag: "Invalid" } as const)
        }
        if (link.consumedAt !== undefined || link.revoked || link.expiresAt <= now) return { _tag: "Invalid" } as const
        if (link.handoff) return { _tag: "Handoff" } as const
        link.consumedAt = now
        return { _tag: "Consumed", userId: link.userId } as const
      })),

    getTotp: (tenantId, userId) =>
      Effect.sync(() => Option.map(Option.fromNullable(totp.get(key(tenantId, userId))), totpRecord)),
    setPendingTotp: (tenantId, userId, sealed, now, events) =>
      Effect.sync(withEvents(events, () => {
        const k = key(tenantId, userId)
        if (!users.has(k)) return false
        const row = totp.get(k)
        if (row) {
          row.pendingSecret = sealed
          row.pendingSince = now
        } else {
          totp.set(k, {
            confirmedSecret: undefined,
            pendingSecret: sealed,
            pendingSince: now,
            lastStep: undefined,
            failures: 0,
            lastFailureAt: undefined,
            lockouts: 0,
            lockedUntil: undefined
          })
        }
        return true
      })),
    disableTotp: (tenantId, userId, events) =>
      Effect.sync(withEvents(events, () => {
        const row = totp.get(key(tenantId, userId))
        if (row) {
          row.confirmedSecret = undefined
          row.pendingSecret = undefined
          row.pendingSince = undefined
        }
        recoveryCodes.delete(key(tenantId, userId))
      })),
    beginTotpAttempt: (tenantId, userId, now, policy, events) =>
      Effect.sync(withEvents(events, () => {
        const row = totp.get(key(tenantId, userId))
        if (!row) return { _tag: "Missing" } as const
        const lockedUntil = lockoutEnd(row, policy)
        if (lockedUntil !== undefined && lockedUntil > now) return { _tag: "Locked", retryAt: lockedUntil } as const
        row.failures = row.failures >= policy.limit ? 1 : row.failures + 1
        row.lastFailureAt = now
        if (row.failures >= policy.limit) {
          // This attempt starts a lock-out (a right code ends it at once): longer when it follows
          // the previous one closely.
          const follows = row.lockedUntil !== undefined && row.lockedUntil > now - policy.escalationWindowMillis
          row.lockouts = follows ? Math.min(row.lockouts + 1, maxLockoutLevel(policy)) : 1
          row.lockedUntil = now + lockoutMillis(row.lockouts, policy)
        }
        if (row.pendingSince !== undefined && row.pendingSince <= now - policy.enrolmentLifetimeMillis) {
          row.pendingSecret = undefined
          row.pendingSince = undefined
        }
        return { _tag: "Allowed", totp: totpRecord(row) } as const
      })),
    acceptTotpStep: ({ kind, secret, step, tenantId, userId }, events) =>
      Effect.sync(withEvents(events, () => {
        const row = totp.get(key(tenantId, userId))
        if (!row) return false
        if (row.lastStep !== undefined && row.lastStep >= step) return false
        if (kind === "confirmed" ? row.confirmedSecret !== secret : row.pendingSecret !== secret) return false
        if (kind === "pending") {
          row.confirmedSecret = row.pendingSecret
          row.pendingSecret = undefined
          row.pendingSince = undefined
        }
        row.lastStep = step
        row.failures = 0
        row.lastFailureAt = undefined
        row.lockouts = 0
        row.lockedUntil = undefined
        return true
      })),
    sampleTotpSecret: Effect.sync(() => {
      for (const [k, row] of totp) {
        const sealed = row.confirmedSecret ?? row.pendingSecret
        if (sealed === undefined) continue
        const separator = k.indexOf("\u0000")
        return Option.some({ tenantId: k.slice(0, separator), userId: k.slice(separator + 1), sealed })
      }
      return Option.none()
    }),

    getKeyCheck: Effect.sync(() => Option.fromNullable(keyCheck)),
    insertKeyCheck: (sealed) =>
      Effect.sync(() => {
        if (keyCheck !== undefined) return false
        keyCheck = sealed
        return true
      }),
    replaceKeyCheck: (previous, next) =>
      Effect.sync(() => {
        if (keyCheck !== previous) return false
        keyCheck = next
        return true
      }),

    claimOutbox: (now, leaseMillis, limit) =>
      Effect.sync(() => {
        const pending = [...outbox.values()].filter((row) => row.record.status === "pending")
        const due = pending
          .filter(
            (row) =>
              row.record.nextAttemptAt <= now &&
              row.record.leaseUntil <= now &&
              !pending.some((older) => sameUser(older.record, row.record) && older.seq < row.seq)
          )
          .sort((a, b) => a.record.nextAttemptAt - b.record.nextAttemptAt || a.seq - b.seq)
          .slice(0, limit)
        for (const row of due) {
          row.record = { ...row.record, attempts: row.record.attempts + 1, leaseUntil: now + leaseMillis }
        }
        return due.map((row) => row.record)
      }),
    renewOutboxLeases: (claimed, leaseUntil) =>
      Effect.sync(() =>
        claimed.flatMap((c) => {
          const row = outbox.get(c.id)
          if (!row || row.record.status !== "pending" || row.record.leaseUntil !== c.leaseUntil) return []
          row.record = { ...row.record, leaseUntil }
          return [c.id]
        })
      ),
    markOutboxSent: (c, events) => update(c, (r) => ({ ...r, status: "sent", lastError: undefined }), events),
    retryOutbox: (c, nextAttemptAt, error) =>
      update(c, (r, row) => ({
        ...r,
        status: hasNewer(row) ? "superseded" : r.status,
        nextAttemptAt,
        lastError: error,
        leaseUntil: 0
      })),
    finishOutbox: (c, status, error, events) => update(c, (r) => ({ ...r, status, lastError: error }), events),
    releaseOutbox: (c) =>
      update(c, (r, row) => ({
        ...r,
        status: hasNewer(row) ? "superseded" : r.status,
        attempts: r.attempts - 1,
        leaseUntil: 0
      })),
    listOutbox: (limit) =>
      Effect.sync(() =>
        [...outbox.values()]
          .sort((a, b) => b.record.createdAt - a.record.createdAt || b.seq - a.seq)
          .slice(0, limit)
          .map((row) => row.record)
      ),

    outboxStats: Effect.sync(() => {
      let pending = 0
      let oldestCreatedAt: number | undefined
      for (const row of outbox.values()) {
        if (row.record.status !== "pending") continue
        pending++
        if (oldestCreatedAt === undefined || row.record.createdAt < oldestCreatedAt) oldestCreatedAt = row.record.createdAt
      }
      return { pending, oldestCreatedAt }
    }),

    purge: (before, enrolmentsBefore) =>
      Effect.sync(() => {
        let n = 0
        for (const [hash, link] of deletedUserLinks) {
          if (link.expiresAt < before) {
            deletedUserLinks.delete(hash)
            n++
          }
        }
        if (enrolmentsBefore !== undefined) {
          for (const row of totp.values()) {
            if (row.pendingSince !== undefined && row.pendingSince < enrolmentsBefore) {
              row.pendingSecret = undefined
              row.pendingSince = undefined
              n++
            }
          }
        }
        for (const [hash, link] of links) {
          if (link.expiresAt < before && link.createdAt < before) {
            links.delete(hash)
            // Its handoff goes with it (as ON DELETE CASCADE does in SQL).
            const handoff = handoffByLink(hash)
            if (handoff !== undefined) handoffs.delete(handoff[0])
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
      }),

    // -----------------------------------------------------------------------------------------
    // Recovery codes, e-mail codes and the sign-in handoff (SPEC 5).

    replaceRecoveryCodes: (tenantId, userId, set, events) =>
      Effect.sync(withEvents(events, () => {
        const k = key(tenantId, userId)
        if (!users.has(k)) return "NoUser" as const
        if (totp.get(k)?.confirmedSecret === undefined) return "NoTotp" as const
        recoveryCodes.set(k, {
          keyId: set.keyId,
          createdAt: set.createdAt,
          codes: new Map(set.hashes.map((hash) => [hash, undefined]))
        })
        return "Replaced" as const
      })),
    getRecoveryCodes: (tenantId, userId) =>
      Effect.sync(() => {
        const row = recoveryCodes.get(key(tenantId, userId))
        if (row === undefined) return Option.none()
        const remaining = [...row.codes.values()].filter((usedAt) => usedAt === undefined).length
        return Option.some({ keyId: row.keyId, remaining, createdAt: row.createdAt })
      }),
    useRecoveryCode: (tenantId, userId, codeHash, now, events) =>
      Effect.sync(withEvents(events, () => {
        const k = key(tenantId, userId)
        const row = recoveryCodes.get(k)
        if (row === undefined || !row.codes.has(codeHash) || row.codes.get(codeHash) !== undefined) return false
        row.codes.set(codeHash, now)
        const state = totp.get(k)
        if (state) {
          state.failures = 0
          state.lastFailureAt = undefined
          state.lockouts = 0
          state.lockedUntil = undefined
        }
        return true
      })),

    findEmailCode: (tenantId, userId, now) =>
      Effect.sync(() => {
        let found: { tokenHash: string; keyId: string; createdAt: number } | undefined
        for (const [tokenHash, link] of links) {
          if (link.tenantId !== tenantId || link.userId !== userId || !liveLink(link, now)) continue
          if (link.codeHash === undefined || link.codeKeyId === undefined) continue
          if (found === undefined || link.createdAt >= found.createdAt) found = { tokenHash, keyId: link.codeKeyId, createdAt: link.createdAt }
        }
        return found === undefined ? Option.none() : Option.some({ tokenHash: found.tokenHash, keyId: found.keyId })
      }),
    tryEmailCode: ({ codeHash, limit, now, tenantId, tokenHash }, events) =>
      Effect.sync(withEvents(events, () => {
        const link = links.get(tokenHash)
        if (!liveLink(link, now) || link.tenantId !== tenantId || link.codeHash === undefined) {
          return { _tag: "Invalid" } as const
        }
        if (link.codeHash === codeHash) {
          link.consumedAt = now
          return { _tag: "Consumed", userId: link.userId } as const
        }
        link.codeFailures += 1
        const ended = link.codeFailures >= limit
        if (ended) link.revoked = "code-failures"
        return { _tag: "Wrong", ended } as const
      })),

    getHandoffChoices: (tenantId, tokenHash, now) =>
      Effect.sync(() => {
        const link = links.get(tokenHash)
        const handoff = handoffByLink(tokenHash)?.[1]
        return liveLink(link, now) && link.tenantId === tenantId && handoff?.status === "pending"
          ? Option.some(handoff.choices)
          : Option.none()
      }),
    decideHandoff: (tenantId, tokenHash, matchNumber, now, events) =>
      Effect.suspend(() => {
        const link = links.get(tokenHash)
        const found = handoffByLink(tokenHash)
        if (!liveLink(link, now) || link.tenantId !== tenantId || found?.[1].status !== "pending") {
          return Effect.succeed("Invalid" as const)
        }
        const [idHash, handoff] = found
        const approved = handoff.matchNumber === matchNumber
        if (approved) link.consumedAt = now
        else link.revoked = "handoff-denied"
        handoff.status = approved ? "approved" : "denied"
        if (events) writeEvents(events({ outcome: approved ? "Approved" : "Denied", userId: handoff.userId }))
        watch.signal(idHash)
        return Effect.succeed(approved ? ("Approved" as const) : ("Denied" as const))
      }),
    readHandoff: (tenantId, idHash, now) =>
      Effect.sync(() => {
        const row = handoffs.get(idHash)
        if (row === undefined || row.tenantId !== tenantId) return { _tag: "Missing" } as const
        const user = users.get(key(row.tenantId, row.userId))
        if (user === undefined) return { _tag: "Missing" } as const
        if (row.status === "denied") return { _tag: "Denied" } as const
        if (row.expiresAt <= now || row.status === "claimed") return { _tag: "Expired" } as const
        if (row.status === "approved") {
          row.status = "claimed"
          return { _tag: "Approved", user } as const
        }
        return liveLink(links.get(row.tokenHash), now)
          ? ({ _tag: "Pending", expiresAt: row.expiresAt } as const)
          : ({ _tag: "Expired" } as const)
      }),
    watchHandoff: watch.watch,

    // -----------------------------------------------------------------------------------------
    // operator: key rotation, export/import, outbox listing

    listTenants: Effect.sync(() => [...tenants.values()].sort((a, b) => a.createdAt - b.createdAt)),
    countSealed: Effect.sync(() => {
      const counts = new Map<string, SealedCount>()
      const count = (kind: SealedKind, sealed: string | undefined) => {
        if (sealed === undefined) return
        const keyId = sealedKeyId(sealed) ?? ""
        const k = `${kind}\u0000${keyId}`
        counts.set(k, { kind, keyId, count: (counts.get(k)?.count ?? 0) + 1 })
      }
      for (const row of totp.values()) {
        count("totp-confirmed", row.confirmedSecret)
        count("totp-pending", row.pendingSecret)
      }
      for (const row of outbox.values()) count("outbox", row.record.sealed)
      for (const webhook of webhooks.values()) {
        count("webhook-secret", webhook.secret)
        count("webhook-previous-secret", webhook.previousSecret)
      }
      return [...counts.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.keyId.localeCompare(b.keyId))
    }),
    countRecoveryCodeSets: Effect.sync(() => {
      const users = new Map<string, number>()
      for (const row of recoveryCodes.values()) {
        if ([...row.codes.values()].some((usedAt) => usedAt === undefined)) users.set(row.keyId, (users.get(row.keyId) ?? 0) + 1)
      }
      return [...users.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([keyId, n]) => ({ keyId, users: n }))
    }),
    listSealed: (kind, { after, exceptKeyId, limit }) =>
      Effect.sync(() => {
        const prefix = `v1.${exceptKeyId}.`
        const values: Array<SealedValue> = []
        if (kind === "webhook-secret" || kind === "webhook-previous-secret") {
          for (const webhook of webhooks.values()) {
            const sealed = kind === "webhook-secret" ? webhook.secret : webhook.previousSecret
            if (sealed === undefined || sealed.startsWith(prefix)) continue
            values.push({ kind, ref: { tenantId: webhook.tenantId, userId: "", id: webhook.id }, sealed })
          }
        } else if (kind === "outbox") {
          for (const { record } of outbox.values()) {
            if (!record.sealed.startsWith(prefix)) {
              values.push({ kind, ref: { tenantId: record.tenantId, userId: record.userId, id: record.id }, sealed: record.sealed })
            }
          }
        } else {
          for (const [k, row] of totp) {
            const sealed = kind === "totp-confirmed" ? row.confirmedSecret : row.pendingSecret
            if (sealed === undefined || sealed.startsWith(prefix)) continue
            const separator = k.indexOf("\u0000")
            values.push({ kind, ref: { tenantId: k.slice(0, separator), userId: k.slice(separator + 1), id: "" }, sealed })
          }
        }
        const order = (r: SealedRef) => [r.tenantId, r.userId, r.id] as const
        const compare = (a: SealedRef, b: SealedRef) => {
          const [x, y] = [order(a), order(b)]
          for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1
          return 0
        }
        // The outbox and webhooks are ordered by id alone, as in the SQL adapters.
        const sorted = kind !== "totp-confirmed" && kind !== "totp-pending"
          ? values.sort((a, b) => (a.ref.id < b.ref.id ? -1 : a.ref.id > b.ref.id ? 1 : 0))
            .filter((v) => after === undefined || v.ref.id > after.id)
          : values.sort((a, b) => compare(a.ref, b.ref)).filter((v) => after === undefined || compare(v.ref, after) > 0)
        return sorted.slice(0, limit)
      }),
    resealValues: (updates) =>
      Effect.sync(() => {
        let replaced = 0
        for (const u of updates) {
          if (u.kind === "webhook-secret" || u.kind === "webhook-previous-secret") {
            const webhook = webhooks.get(u.ref.id)
            if (webhook === undefined) continue
            if (u.kind === "webhook-secret" && webhook.secret === u.previous) {
              webhooks.set(webhook.id, { ...webhook, secret: u.next })
              replaced++
            } else if (u.kind === "webhook-previous-secret" && webhook.previousSecret === u.previous) {
              webhooks.set(webhook.id, { ...webhook, previousSecret: u.next })
              replaced++
            }
            continue
          }
          if (u.kind === "outbox") {
            const row = outbox.get(u.ref.id)
            if (row !== undefined && row.record.sealed === u.previous) {
              row.record = { ...row.record, sealed: u.next }
              replaced++
            }
            continue
          }
          const row = totp.get(key(u.ref.tenantId, u.ref.userId))
          if (row === undefined) continue
          if (u.kind === "totp-confirmed" && row.confirmedSecret === u.previous) {
            row.confirmedSecret = u.next
            replaced++
          } else if (u.kind === "totp-pending" && row.pendingSecret === u.previous) {
            row.pendingSecret = u.next
            replaced++
          }
        }
        return replaced
      }),
    exportUsers: (tenantId, after, limit) =>
      Effect.sync(() =>
        [...users.entries()]
          .filter(([k]) => k.startsWith(`${tenantId}\u0000`))
          .map(([k, u]): ExportedUser => {
            const row = totp.get(k)
            return {
              userId: u.userId,
              email: u.email,
              createdAt: userCreatedAt.get(k) ?? 0,
              totp: row === undefined
                ? undefined
                : {
                  confirmedSecret: row.confirmedSecret,
                  pendingSecret: row.pendingSecret,
                  pendingSince: row.pendingSince,
                  lastStep: row.lastStep
                }
            }
          })
          .filter((u) => after === undefined || u.userId > after)
          .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
          .slice(0, limit)
      ),
    importUser: (tenantId, u) =>
      Effect.sync(() => {
        const k = key(tenantId, u.userId)
        if (users.has(k)) return false
        users.set(k, { userId: u.userId, email: u.email })
        userCreatedAt.set(k, u.createdAt)
        if (u.totp !== undefined) {
          totp.set(k, {
            confirmedSecret: u.totp.confirmedSecret,
            pendingSecret: u.totp.pendingSecret,
            pendingSince: u.totp.pendingSince,
            lastStep: u.totp.lastStep,
            failures: 0,
            lastFailureAt: undefined,
            lockouts: 0,
            lockedUntil: undefined
          })
        }
        return true
      }),
    listOutboxByStatus: (status, limit) =>
      Effect.sync(() =>
        [...outbox.values()]
          .filter((row) => status === undefined || row.record.status === status)
          .sort((a, b) => b.record.createdAt - a.record.createdAt || b.seq - a.seq)
          .slice(0, limit)
          .map((row) => row.record)
      ),
    retryFailedOutbox: (ids, now) =>
      Effect.sync(() => {
        const retried: Array<string> = []
        for (const row of outbox.values()) {
          const r = row.record
          if (r.status !== "failed" || r.expiresAt <= now || (ids !== "all" && !ids.includes(r.id))) continue
          const newer = [...outbox.values()].some((o) =>
            o.record.tenantId === r.tenantId && o.record.userId === r.userId && o.seq > row.seq
          )
          if (newer) continue
          row.record = { ...r, status: "pending", attempts: 0, nextAttemptAt: now, leaseUntil: 0, lastError: undefined }
          retried.push(r.id)
        }
        return retried
      }),

    // -----------------------------------------------------------------------------------------
    // Events and webhooks (SPEC 6).

    appendEvents: (list) => Effect.sync(() => writeEvents(list)),
    listEvents: ({ after, limit, tenantId, types }) =>
      Effect.sync(() => {
        const from = after ?? startCursor
        const page = eventLog
          .filter((e) => e.tenantId === tenantId && compareCursors(e.cursor, from) > 0)
          .filter((e) => types === undefined || types.includes(e.type))
          .slice(0, limit)
        return { events: page, next: page.length > 0 ? page[page.length - 1]!.cursor : from }
      }),
    purgeEvents: (before, deliveriesBefore) =>
      Effect.sync(() => {
        const kept = eventLog.filter((e) => e.occurredAt >= before)
        let n = eventLog.length - kept.length
        eventLog.length = 0
        for (const e of kept) eventLog.push(e)
        for (const [k, row] of deliveries) {
          if (row.status !== "pending" && row.createdAt < deliveriesBefore) {
            deliveries.delete(k)
            n++
          }
        }
        return n
      }),

    insertWebhook: (webhook) =>
      Effect.sync(() => {
        webhooks.set(webhook.id, webhook)
      }),
    listWebhooks: (tenantId) =>
      Effect.sync(() =>
        [...webhooks.values()]
          .filter((w) => w.tenantId === tenantId)
          .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
      ),
    getWebhook: (tenantId, id) =>
      Effect.sync(() => Option.filter(Option.fromNullable(webhooks.get(id)), (w) => w.tenantId === tenantId)),
    deleteWebhook: (tenantId, id) =>
      Effect.sync(() => {
        if (webhooks.get(id)?.tenantId !== tenantId) return false
        webhooks.delete(id)
        for (const [k, row] of deliveries) if (row.webhookId === id) deliveries.delete(k)
        return true
      }),
    rotateWebhookSecret: (tenantId, id, secret, previousUntil) =>
      Effect.sync(() => {
        const w = webhooks.get(id)
        if (w === undefined || w.tenantId !== tenantId) return Option.none()
        const rotated: WebhookRecord = { ...w, secret, previousSecret: w.secret, previousUntil }
        webhooks.set(id, rotated)
        return Option.some(rotated)
      }),
    listWebhookDeliveries: (tenantId, webhookId, limit) =>
      Effect.sync(() =>
        [...deliveries.values()]
          .filter((d) => d.tenantId === tenantId && d.webhookId === webhookId)
          .sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq)
          .slice(0, limit)
          .map(deliveryRecord)
      ),
    retryWebhookDelivery: (tenantId, webhookId, deliveryId, now) =>
      Effect.sync(() => {
        const row = deliveries.get(key(webhookId, deliveryId))
        const webhook = webhooks.get(webhookId)
        if (row === undefined || row.tenantId !== tenantId || webhook === undefined) return false
        row.status = "pending"
        row.nextAttemptAt = now
        // A webhook disabled for its failures is tried again.
        webhooks.set(webhookId, { ...webhook, enabled: true, failingSince: undefined })
        return true
      }),
    retryFailedWebhookDeliveries: (tenantId, webhookId, since, now) =>
      Effect.sync(() => {
        const webhook = webhooks.get(webhookId)
        if (webhook === undefined || webhook.tenantId !== tenantId) return 0
        let changed = 0
        for (const row of deliveries.values()) {
          if (row.webhookId !== webhookId || row.tenantId !== tenantId || row.status !== "failed" || row.createdAt < since) continue
          row.status = "pending"
          row.nextAttemptAt = now
          changed++
        }
        if (changed > 0) webhooks.set(webhookId, { ...webhook, enabled: true, failingSince: undefined })
        return changed
      }),
    claimWebhookDeliveries: (now, leaseMillis, limit) =>
      Effect.sync(() => {
        const due = [...deliveries.values()]
          .filter((d) => d.status === "pending" && d.nextAttemptAt <= now && d.leaseUntil <= now && webhooks.get(d.webhookId)?.enabled === true)
          .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.seq - b.seq)
          .slice(0, limit)
        return due.map((d): ClaimedDelivery => {
          d.attempts += 1
          d.leaseUntil = now + leaseMillis
          return {
            id: d.eventId,
            tenantId: d.tenantId,
            webhookId: d.webhookId,
            eventId: d.eventId,
            payload: d.payload,
            createdAt: d.createdAt,
            attempts: d.attempts,
            leaseUntil: d.leaseUntil,
            webhook: webhooks.get(d.webhookId)!
          }
        })
      }),
    recordWebhookAttempt: ({ attempt, claimed, disable, outcome }) =>
      Effect.sync(() => {
        const row = deliveries.get(key(claimed.webhookId, claimed.eventId))
        const webhook = webhooks.get(claimed.webhookId)
        if (row === undefined || webhook === undefined || row.leaseUntil !== claimed.leaseUntil) return false
        row.log.push(attempt)
        row.leaseUntil = 0
        if (outcome._tag === "Delivered") row.status = "delivered"
        else if (outcome._tag === "Failed") row.status = "failed"
        else row.nextAttemptAt = outcome.nextAttemptAt
        webhooks.set(webhook.id, {
          ...webhook,
          failingSince: outcome._tag === "Delivered" ? undefined : webhook.failingSince ?? attempt.attemptedAt,
          enabled: disable === undefined ? webhook.enabled : false
        })
        if (disable !== undefined) writeEvents(disable)
        return true
      })
  }
}

/**
 * A layer with a fresh, empty in-memory store.
 * @since 0.0.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Storage> = Layer.sync(Storage, makeMemoryStorage)
