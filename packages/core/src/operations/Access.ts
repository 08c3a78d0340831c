/**
 * Authentication of API callers: an access token in `Authorization: Bearer` becomes a principal
 * (tenant + permissions), and permissions are checked per operation (SPEC 1.4).
 *
 * @since 0.0.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Unavailable } from "../domain/errors.js"
import { Forbidden } from "../domain/errors.js"
import type { Permission } from "../domain/permissions.js"
import { allows } from "../domain/permissions.js"
import type { Principal } from "../domain/principal.js"
import { hashToken } from "../crypto/tokens.js"
import type { AccessTokenRecord } from "../storage/Storage.js"
import { Storage } from "../storage/Storage.js"

const missing = new Forbidden({ message: "An access token is required: send Authorization: Bearer <token>" })
const invalid = new Forbidden({ message: "The access token is not valid (unknown or revoked)" })

// Longest bearer value worth hashing: generated tokens are 47 characters, configured ones shorter
// than this; anything longer is refused without work.
const maxTokenLength = 512

/**
 * The bearer token of an `Authorization` header value, if it has one.
 * @since 0.0.0
 */
export const bearerToken = (authorization: string | undefined): string | undefined => {
  if (authorization === undefined) return undefined
  const match = /^Bearer[ ]+([\x21-\x7E]+)[ ]*$/i.exec(authorization)
  return match?.[1]
}

const failMissing = Effect.fail(missing)
const failInvalid = Effect.fail(invalid)

const principalOf = (token: AccessTokenRecord): Principal => ({
  tenantId: token.tenantId,
  tokenId: token.tokenId,
  tokenName: token.name,
  permissions: token.permissions
})

/**
 * Resolves an access token into the principal it stands for, or fails with Forbidden. The token
 * is looked up by its SHA-256 hash, so each request sees revocations at once. (Steps chained
 * without a generator: it runs on every request.)
 * @since 0.0.0
 */
export const authenticate = (accessToken: string | undefined): Effect.Effect<Principal, Forbidden | Unavailable, Storage> => {
  if (accessToken === undefined || accessToken.length === 0) return failMissing
  if (accessToken.length > maxTokenLength) return failInvalid
  const secretHash = hashToken(accessToken)
  return Effect.flatMap(Storage, (storage) =>
    Effect.flatMap(storage.findAccessToken(secretHash), (found) =>
      Option.isNone(found) ? failInvalid : Effect.succeed(principalOf(found.value))))
}

/**
 * Fails with Forbidden unless the principal holds `permission` (or one that implies it).
 * @since 0.0.0
 */
export const require = (principal: Principal, permission: Permission): Effect.Effect<void, Forbidden> =>
  allows(principal.permissions, permission)
    ? Effect.void
    : Effect.fail(new Forbidden({ message: `This access token lacks the ${permission} permission` }))
