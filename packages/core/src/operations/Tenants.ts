/**
 * The caller's tenant: read it, set its callback URL, and make sure one exists (bootstrap).
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Conflict, NotFound } from "../domain/errors.js"
import type { Tenant, UpdateTenantRequest } from "../domain/models.js"
import { expand } from "../domain/permissions.js"
import { hashToken } from "../crypto/tokens.js"
import { SecureRandom } from "../services/SecureRandom.js"
import type { TenantRecord } from "../storage/Storage.js"
import { Storage } from "../storage/Storage.js"

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

/** @since 0.0.0 */
export const find = (tenantId: string) =>
  Effect.flatMap(Storage, (storage) => storage.getTenant(tenantId)).pipe(
    Effect.flatMap(
      Option.match({
        onNone: () => Effect.fail(new NotFound({ message: "The tenant of this access token no longer exists" })),
        onSome: Effect.succeed
      })
    )
  )

/** @since 0.0.0 */
export const get = (tenantId: string) => Effect.map(find(tenantId), toTenant)

/** @since 0.0.0 */
export const update = (tenantId: string, request: UpdateTenantRequest) =>
  Effect.gen(function* () {
    if (request.callbackUrl === undefined) return yield* get(tenantId)
    const storage = yield* Storage
    const updated = yield* storage.setTenantCallbackUrl(tenantId, request.callbackUrl)
    return yield* Option.match(updated, {
      onNone: () => Effect.fail(new NotFound({ message: "The tenant of this access token no longer exists" })),
      onSome: (record) => Effect.succeed(toTenant(record))
    })
  })

/**
 * Makes sure a tenant named `name` exists and holds `accessToken` as an ADMIN token, creating
 * either if missing (what a fresh server does at start). Returns the tenant; `callbackUrl`, when
 * given, replaces the tenant's.
 * @since 0.0.0
 */
export const ensure = (options: {
  readonly name: string
  readonly accessToken: string
  readonly callbackUrl?: string | undefined
}) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const random = yield* SecureRandom
    const now = yield* Clock.currentTimeMillis
    // Insert-if-absent, then read: replicas starting at once all end up with the same tenant.
    yield* storage.insertTenant({ tenantId: yield* random.uuid(), name: options.name, callbackUrl: "", createdAt: now })
    let tenant = yield* Effect.flatMap(storage.findTenantByName(options.name), Option.match({
      onNone: () => Effect.dieMessage("The tenant vanished while it was being created"),
      onSome: Effect.succeed
    }))
    if (options.callbackUrl !== undefined && options.callbackUrl !== tenant.callbackUrl) {
      tenant = Option.getOrElse(yield* storage.setTenantCallbackUrl(tenant.tenantId, options.callbackUrl), () => tenant)
    }
    const secretHash = hashToken(options.accessToken)
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
    if (Option.isNone(holder) || holder.value.tenantId !== tenant.tenantId) {
      return yield* new Conflict({
        message: Option.isNone(holder)
          ? "The configured access token was revoked; configure another one"
          : "The configured access token belongs to another tenant"
      })
    }
    return toTenant(tenant)
  })
