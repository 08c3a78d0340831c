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
import { InvalidPayload, NotFound, retryAfterSeconds, TooManyRequests, Unauthorized } from "../domain/errors.js"
import { Policies } from "../domain/policies.js"
import { encodeToken, hashToken, isWellFormedToken } from "../crypto/tokens.js"
import { magicLinkMessage } from "../mail/Message.js"
import { sealOutboxMessage } from "../mail/OutboxMessage.js"
import { SecureRandom } from "../crypto/SecureRandom.js"
import { Storage } from "../storage/Storage.js"
import * as Tenants from "./Tenants.js"
import * as Users from "./Users.js"

const invalidLink = new Unauthorized({ message: "The magic link is not valid: it is unknown, expired or already used" })

/**
 * Sends a sign-in link to the user's e-mail address. The link and its message are written in one
 * transaction (the outbox worker delivers it); earlier unused links of the user are revoked, and
 * their messages not yet on their way are `superseded` (never sent). The user's messages are
 * delivered in the order they were written, so the last mail the user receives holds the live
 * link. Throttled per user: past the limit nothing is sent and the earlier link stays valid.
 * @since 0.0.0
 */
export const send = (tenantId: string, userId: string) =>
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

    const token = encodeToken(yield* random.bytes(32))
    const now = yield* Clock.currentTimeMillis
    const lifetime = Duration.toMillis(policies.magicLinkLifetime)
    const messageId = yield* random.uuid()
    const message = magicLinkMessage({
      to: user.email,
      link: tenant.callbackUrl.replaceAll("{}", token),
      tenantName: tenant.name,
      lifetimeMinutes: Math.max(1, Math.round(lifetime / 60_000))
    })
    const result = yield* storage.issueMagicLink({
      tenantId,
      userId,
      email: user.email,
      tokenHash: hashToken(token),
      now,
      expiresAt: now + lifetime,
      limit: policies.sendLimit,
      windowMillis: Duration.toMillis(policies.sendWindow),
      message: { id: messageId, sealed: yield* sealOutboxMessage(message, messageId) }
    })
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
  })

/**
 * Exchanges a magic-link token for its user, consuming it: of any number of concurrent calls with
 * the same token, exactly one succeeds.
 * @since 0.0.0
 */
export const verify = (tenantId: string, token: string) =>
  Effect.gen(function* () {
    if (!isWellFormedToken(token)) return yield* invalidLink
    const storage = yield* Storage
    const result = yield* storage.consumeMagicLink(tenantId, hashToken(token), yield* Clock.currentTimeMillis)
    switch (result._tag) {
      case "Invalid":
        return yield* invalidLink
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
  })
