/**
 * The caller's tenant: read it, set its callback URL, and make sure one exists (bootstrap).
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { Unavailable } from "../domain/errors.js"
import type { Tenant, UpdateTenantRequest } from "../domain/models.js"
import { expand } from "../domain/permissions.js"
import { hashToken } from "../crypto/tokens.js"
import { SecureRandom } from "../crypto/SecureRandom.js"
import { generateAccessToken } from "./Tokens.js"
import type { TenantRecord } from "../storage/Storage.js"
import { Storage } from "../storage/Storage.js"
import { event, stamp } from "./Events.js"
import { operationSpan } from "../telemetry/Telemetry.js"

const emptyCompanyInfo = {
  Name: "",
  Address: "",
  City: "",
  PostalCode: "",
  Country: "",
  OrgNumber: "",
  VATNumber: ""
} as const

/** A self-hosted tenant is always activated and has no billing details. @since 0.0.0 */
export const toTenant = (record: TenantRecord): Tenant => ({
  tenantId: record.tenantId,
  tenantName: record.name,
  callbackUrl: record.callbackUrl,
  companyInfo: emptyCompanyInfo,
  activated: true
})

// Tenants are never deleted and every access token belongs to one (a foreign key), so the tenant
// of a caller always exists: a missing one is a bug, not an answer.
const tenantVanished = () => Effect.dieMessage("The tenant of this access token does not exist")

/** The tenant of an authenticated caller. @since 0.0.0 */
export const find = (tenantId: string) =>
  Effect.flatMap(Storage, (storage) => storage.getTenant(tenantId)).pipe(
    Effect.flatMap(Option.match({ onNone: tenantVanished, onSome: Effect.succeed }))
  )

/** @since 0.0.0 */
export const get = (tenantId: string) =>
  Effect.map(find(tenantId), toTenant).pipe(operationSpan("Lagrello.Tenants.get", tenantId))

/** @since 0.0.0 */
export const update = (tenantId: string, request: UpdateTenantRequest) =>
  Effect.gen(function* () {
    if (request.callbackUrl === undefined) return yield* get(tenantId)
    const storage = yield* Storage
    const s = yield* stamp(tenantId)
    const updated = yield* storage.setTenantCallbackUrl(tenantId, request.callbackUrl, (found) =>
      Option.isSome(found) ? [event(s, "tenant.updated", undefined, { changed: "callbackUrl" })] : [])
    return yield* Option.match(updated, { onNone: tenantVanished, onSome: (record) => Effect.succeed(toTenant(record)) })
  }).pipe(operationSpan("Lagrello.Tenants.update", tenantId))

/**
 * Why the tenant of the start-up configuration cannot be used with its access token.
 * - `AccessTokenRevoked`: the configured token was revoked through the API;
 * - `AccessTokenOfAnotherTenant`: the configured token belongs to another tenant.
 * @since 0.0.0
 * @category errors
 */
export class BootstrapConflict extends Schema.TaggedError<BootstrapConflict>()("BootstrapConflict", {
  reason: Schema.Literal("AccessTokenRevoked", "AccessTokenOfAnotherTenant"),
  message: Schema.String
}) {}

/**
 * What {@link bootstrap} did.
 * @since 0.0.0
 */
export interface Bootstrapped {
  readonly tenant: Tenant
  /** Whether this call created the tenant (of replicas starting at once, exactly one does). */
  readonly created: boolean
  /**
   * The ADMIN access token generated for a tenant created without a configured one: the only copy,
   * to show once (never log it).
   */
  readonly generatedAccessToken: Redacted.Redacted<string> | undefined
}

/**
 * Makes sure a tenant named `name` exists (what a fresh server does at start), safe for replicas
 * starting at once:
 * - with `accessToken`, the tenant holds it as an ADMIN token (added if missing); it fails with
 *   {@link BootstrapConflict} when that token was revoked or belongs to another tenant;
 * - without one, the call that creates the tenant generates an ADMIN token and answers it once;
 * - `callbackUrl`, when given, replaces the tenant's.
 * @since 0.0.0
 */
export const bootstrap = (options: {
  readonly name: string
  readonly accessToken?: string | undefined
  readonly callbackUrl?: string | undefined
}): Effect.Effect<Bootstrapped, BootstrapConflict | Unavailable, Storage | SecureRandom> =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const random = yield* SecureRandom
    const now = yield* Clock.currentTimeMillis
    // Insert-if-absent, then read: replicas starting at once all end up with the same tenant.
    const created = yield* storage.insertTenant({
      tenantId: yield* random.uuid(),
      name: options.name,
      callbackUrl: "",
      createdAt: now
    })
    let tenant = yield* Effect.flatMap(storage.findTenantByName(options.name), Option.match({
      onNone: () => Effect.dieMessage("The tenant vanished while it was being created"),
      onSome: Effect.succeed
    }))
    if (options.callbackUrl !== undefined && options.callbackUrl !== tenant.callbackUrl) {
      tenant = Option.getOrElse(yield* storage.setTenantCallbackUrl(tenant.tenantId, options.callbackUrl), () => tenant)
    }
    const generated = options.accessToken === undefined && created ? yield* generateAccessToken : undefined
    const accessToken = options.accessToken ?? generated
    if (accessToken !== undefined) {
      const secretHash = hashToken(accessToken)
      yield* storage.insertAccessToken({
        tokenId: yield* random.uuid(),
        tenantId: tenant.tenantId,
        name: "bootstrap",
        secretHash,
        permissions: expand(["ADMIN"]),
        createdBy: "bootstrap",
        createdAt: now
      })
      const holder = yield* storage.findAccessToken(secretHash)
      if (Option.isNone(holder)) {
        return yield* new BootstrapConflict({
          reason: "AccessTokenRevoked",
          message: "The configured access token was revoked; configure another one"
        })
      }
      if (holder.value.tenantId !== tenant.tenantId) {
        return yield* new BootstrapConflict({
          reason: "AccessTokenOfAnotherTenant",
          message: "The configured access token belongs to another tenant"
        })
      }
    }
    return {
      tenant: toTenant(tenant),
      created,
      generatedAccessToken: generated === undefined ? undefined : Redacted.make(generated)
    }
  })

/**
 * {@link bootstrap} with a configured access token, answering the tenant.
 * @since 0.0.0
 */
export const ensure = (options: {
  readonly name: string
  readonly accessToken: string
  readonly callbackUrl?: string | undefined
}) => Effect.map(bootstrap(options), ({ tenant }) => tenant)

/**
 * The tenant of this name, if it exists.
 * @since 0.0.0
 */
export const findByName = (name: string) =>
  Effect.flatMap(Storage, (storage) => storage.findTenantByName(name)).pipe(Effect.map(Option.map(toTenant)))
