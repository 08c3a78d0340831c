/**
 * Magic links (SPEC 2.1, 2.2): send one by e-mail through the outbox, and exchange one for the
 * user it was sent to, once.
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Unavailable } from "../domain/errors.js"
import { InvalidPayload, NotFound, retryAfterSeconds, TooManyRequests, Unauthorized } from "../domain/errors.js"
import { Policies } from "../domain/policies.js"
import { encodeToken, hashToken, isWellFormedToken } from "../crypto/tokens.js"
import { magicLinkMessage } from "../mail/Message.js"
import { sealOutboxMessage } from "../mail/OutboxMessage.js"
import { randomDigits } from "../crypto/codes.js"
import { Sealer } from "../crypto/Sealer.js"
import { SecureRandom } from "../crypto/SecureRandom.js"
import type { NewHandoff } from "../storage/Storage.js"
import { Storage } from "../storage/Storage.js"
import * as Tenants from "./Tenants.js"
import * as Users from "./Users.js"
import { append, event, stamp } from "./Events.js"
import { countSend, countVerification, operationSpan } from "../telemetry/Telemetry.js"

const invalidLink = new Unauthorized({ message: "The magic link is not valid: it is unknown, expired or already used" })

/**
 * What a sign-in mail was written with: the link's hash and when it expires.
 * @since 0.0.0
 */
export interface IssuedChallenge {
  readonly tokenHash: string
  readonly expiresAt: number
}

/**
 * The associated data of the keyed hash of a mail's code: bound to its challenge (the link's
 * hash), so that no two challenges share the hashes of their codes.
 * @since 0.0.0
 */
export const emailCodeData = (tokenHash: string, code: string) => `email-code\u0000${tokenHash}\u0000${code}`

/**
 * Writes a sign-in challenge and its mail: a link and, when codes are on, a code (SPEC 5.2; one
 * challenge: using either uses both up). `handoff` makes the link a handoff's (SPEC 5.3). See
 * {@link send} for the rules.
 * @since 0.0.0
 */
export const issueChallenge = (
  tenantId: string,
  userId: string,
  handoff?: NewHandoff | undefined
): Effect.Effect<IssuedChallenge, InvalidPayload | NotFound | TooManyRequests | Unavailable, Storage | Policies | SecureRandom | Sealer> =>
  Effect.gen(function* () {
    const user = yield* Users.find(tenantId, userId)
    if (user.email === undefined) {
      return yield* new InvalidPayload({ message: "The user has no e-mail address; set one with PATCH /v1/users/{userId}" })
    }
    const tenant = yield* Tenants.find(tenantId)
    if (!tenant.callbackUrl.includes("{}")) {
      return yield* new InvalidPayload({ message: "The tenant has no callback URL; set one with PATCH /v1/tenant" })
    }
    const policies = yield* Policies
    const random = yield* SecureRandom
    const storage = yield* Storage
    const sealer = yield* Sealer

    const token = encodeToken(yield* random.bytes(32))
    const tokenHash = hashToken(token)
    const now = yield* Clock.currentTimeMillis
    const { actor } = yield* stamp(tenantId, now)
    const lifetime = Duration.toMillis(policies.magicLinkLifetime)
    const messageId = yield* random.uuid()
    const code = policies.emailCodeLength === 0 ? undefined : yield* randomDigits(policies.emailCodeLength)
    const message = magicLinkMessage({
      to: user.email,
      link: tenant.callbackUrl.replaceAll("{}", token),
      tenantName: tenant.name,
      lifetimeMinutes: Math.max(1, Math.round(lifetime / 60_000)),
      code,
      handoff: handoff !== undefined
    })
    const result = yield* storage.issueMagicLink({
      tenantId,
      userId,
      email: user.email,
      tokenHash,
      now,
      expiresAt: now + lifetime,
      limit: policies.sendLimit,
      windowMillis: Duration.toMillis(policies.sendWindow),
      message: { id: messageId, sealed: yield* sealOutboxMessage(message, messageId) },
      // The active key always exists: this cannot fail.
      code: code === undefined ? undefined : yield* Effect.orDie(sealer.keyedHash(emailCodeData(tokenHash, code))),
      handoff
    }, (r) =>
      r._tag === "Issued"
        ? [event({ tenantId, occurredAt: now, actor }, "magic_link.sent", userId, { handoff: handoff !== undefined, code: code !== undefined })]
        : [])
    if (result._tag === "UserChanged") {
      // Deleted or re-addressed while this send was being prepared: the caller may send again.
      return yield* Users.userNotFoundOrChanged(tenantId, userId)
    }
    if (result._tag === "Throttled") {
      return yield* new TooManyRequests({
        message: "Too many sign-in links were sent to this user recently; the last one is still valid",
        retryAfterSeconds: retryAfterSeconds(result.retryAt, now)
      })
    }
    yield* countSend("magic_link")
    return { tokenHash, expiresAt: now + lifetime }
  }).pipe(operationSpan("Lagrello.MagicLink.issueChallenge", tenantId, userId))

/**
 * Sends a sign-in link to the user's e-mail address. The link and its message are written in one
 * transaction (the outbox worker delivers it); earlier unused links of the user are revoked, and
 * their messages not yet on their way are `superseded` (never sent). The user's messages are
 * delivered in the order they were written, so the last mail the user receives holds the live
 * link. Throttled per user: past the limit nothing is sent and the earlier link stays valid. The
 * mail also carries a code (see {@link issueChallenge}).
 * @since 0.0.0
 */
export const send = (tenantId: string, userId: string) => Effect.asVoid(issueChallenge(tenantId, userId))

/**
 * Exchanges a magic-link token for its user, consuming it: of any number of concurrent calls with
 * the same token, exactly one succeeds.
 * @since 0.0.0
 */
export const verify = (tenantId: string, token: string) =>
  Effect.gen(function* () {
    const s = yield* stamp(tenantId)
    if (!isWellFormedToken(token)) {
      yield* append([event(s, "magic_link.rejected", undefined, { reason: "malformed" })])
      return yield* invalidLink
    }
    const storage = yield* Storage
    const result = yield* storage.consumeMagicLink(tenantId, hashToken(token), s.occurredAt, (r) => [
      r._tag === "Consumed"
        ? event(s, "magic_link.verified", r.userId, { method: "link" })
        : event(s, "magic_link.rejected", undefined, {
          reason: r._tag === "Invalid" ? "invalid" : r._tag === "Handoff" ? "handoff_link" : "user_deleted"
        })
    ])
    switch (result._tag) {
      case "Invalid":
        return yield* invalidLink
      case "Handoff":
        return yield* new Unauthorized({
          message:
            "This link confirms a sign-in started on another device, and signs in that device, not this one: " +
            "show its numbers (POST /v1/handoffs/choices) and approve it with the one picked (POST /v1/handoffs/approve)"
        })
      case "UserDeleted":
        return yield* new NotFound({ message: "The user this link was sent to has been deleted" })
      case "Consumed": {
        const user = yield* storage.getUser(tenantId, result.userId)
        return yield* Option.match(user, {
          onNone: () => Effect.fail(new NotFound({ message: "The user this link was sent to has been deleted" })),
          onSome: (record) => Effect.succeed(Users.toUser(record))
        })
      }
    }
  }).pipe(countMagicLink, operationSpan("Lagrello.MagicLink.verify", tenantId))

const countMagicLink = countVerification("magic_link")
