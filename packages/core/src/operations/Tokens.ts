/**
 * Access tokens of the caller's tenant: create (shown once), list, revoke (SPEC 1.6).
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Forbidden, NotFound } from "../domain/errors.js"
import { ApiBaseUrl } from "../domain/location.js"
import type { CreateTokenRequest, Token, TokenList } from "../domain/models.js"
import { allows, expand } from "../domain/permissions.js"
import type { Principal } from "../domain/principal.js"
import { hashToken } from "../crypto/tokens.js"
import { SecureRandom } from "../crypto/SecureRandom.js"
import type { AccessTokenRecord } from "../storage/Storage.js"
import { Storage } from "../storage/Storage.js"
import { event, stamp } from "./Events.js"
import { operationSpan } from "../telemetry/Telemetry.js"

/**
 * A new access token (the whole bearer secret): a random UUID, version 4 (122 random bits), the
 * one way tokens are generated, by the API and at a tenant's first start. The reference document
 * declares `tokenKey` as `format: uuid` and the Java SDK parses it into `java.util.UUID`: any
 * other form makes its `tokensCreate` throw after the token was created, losing the only copy.
 * (Tokens of any other form that already exist, such as a configured one, keep working.)
 * @since 0.0.0
 */
export const generateAccessToken: Effect.Effect<string, never, SecureRandom> = Effect.flatMap(
  SecureRandom,
  (random) => random.uuid()
)

const toToken = (record: AccessTokenRecord, tokenKey: string): Token => ({
  tokenKey,
  tokenName: record.name,
  createdBy: record.createdBy,
  createdAt: DateTime.formatIso(DateTime.unsafeMake(record.createdAt)),
  permissions: record.permissions
})

/**
 * Creates a token; the answer's `tokenKey` is the whole bearer token, shown this once. Every token
 * has at least READ, and none can grant more than the token that creates it.
 * @since 0.0.0
 */
export const create = (principal: Principal, request: CreateTokenRequest) =>
  Effect.gen(function* () {
    const permissions = expand(request.permissions ?? ["READ"])
    const exceeding = permissions.filter((p) => !allows(principal.permissions, p))
    if (exceeding.length > 0) {
      return yield* new Forbidden({
        message: `A token cannot grant more than its own permissions (${exceeding.join(", ")} not held)`
      })
    }
    const random = yield* SecureRandom
    const storage = yield* Storage
    const bearer = yield* generateAccessToken
    const record: AccessTokenRecord = {
      tokenId: yield* random.uuid(),
      tenantId: principal.tenantId,
      name: request.tokenName,
      secretHash: hashToken(bearer),
      permissions,
      createdBy: principal.tokenId,
      createdAt: yield* Clock.currentTimeMillis
    }
    const s = yield* stamp(principal.tenantId, record.createdAt)
    yield* storage.insertAccessToken(record, (ok) =>
      ok ? [event(s, "token.created", undefined, { tokenId: record.tokenId, permissions: permissions.join(",") })] : [])
    return toToken(record, bearer)
  }).pipe(operationSpan("Lagrello.Tokens.create", principal.tenantId))

/** @since 0.0.0 */
export interface ListOptions {
  /** Tokens per page, 1-20. Default 20. */
  readonly size?: number | undefined
  /** 1-based page number. Default 1. */
  readonly page?: number | undefined
}

/**
 * The tenant's active tokens, oldest first; `tokenKey` is each token's public id, never its secret.
 * The `paging` links are absolute URLs under the {@link ApiBaseUrl} when one is provided (the
 * reference document declares them `format: uri`), else paths from the server's root.
 * @since 0.0.0
 */
export const list = (principal: Principal, options: ListOptions = {}) =>
  Effect.gen(function* () {
    const size = options.size ?? 20
    const page = options.page ?? 1
    const base = Option.getOrElse(yield* Effect.serviceOption(ApiBaseUrl), () => "")
    const storage = yield* Storage
    const { items, total } = yield* storage.listAccessTokens(principal.tenantId, {
      offset: (page - 1) * size,
      limit: size
    })
    const link = (p: number) => `${base}/v1/tokens?size=${size}&page=${p}`
    return {
      data: items.map((record) => toToken(record, record.tokenId)),
      paging: {
        previous: page > 1 ? link(Math.min(page - 1, Math.max(1, Math.ceil(total / size)))) : "",
        next: page * size < total ? link(page + 1) : ""
      }
    } satisfies TokenList
  }).pipe(operationSpan("Lagrello.Tokens.list", principal.tenantId))

/**
 * Revokes a token of the tenant by its public id, at once.
 * @since 0.0.0
 */
export const revoke = (principal: Principal, tokenId: string) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const s = yield* stamp(principal.tenantId)
    const revoked = yield* storage.revokeAccessToken(principal.tenantId, tokenId, s.occurredAt, (ok) =>
      ok ? [event(s, "token.revoked", undefined, { tokenId })] : [])
    if (!revoked) return yield* new NotFound({ message: "No active token with this id in this tenant" })
  }).pipe(operationSpan("Lagrello.Tokens.revoke", principal.tenantId))
