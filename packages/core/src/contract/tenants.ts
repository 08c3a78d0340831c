/**
 * The `tenants` group: read and update the caller's tenant. Public sign-up (`POST /v1/tenant`),
 * deletion and the billing endpoints are not part of a self-hosted service and are left out.
 *
 * @since 0.0.0
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Tenant, UpdateTenantRequest } from "../domain/models.js"
import { operation } from "./openapi-transform.js"
import { Authentication, RequiredPermission } from "./security.js"
import { UnavailableWire } from "./wire-errors.js"

/**
 * `GET /v1/tenant` -> 200 `Tenant`.
 */
const getTenant = HttpApiEndpoint.get("get", "/v1/tenant")
  .addSuccess(Tenant)
  .annotate(RequiredPermission, "READ")
  .annotateContext(operation({
    id: "tenants/get",
    summary: "Returns the tenant information the caller is part of",
    responses: { 200: "Gives back the tenant call is part of" }
  }))

/**
 * `PATCH /v1/tenant` -> 200 `Tenant`: sets `callbackUrl`.
 */
const updateTenant = HttpApiEndpoint.patch("update", "/v1/tenant")
  .setPayload(UpdateTenantRequest)
  .addSuccess(Tenant)
  .annotate(RequiredPermission, "WRITE")
  .annotateContext(operation({
    // The reference's operation id, singular `tenant` included.
    id: "tenant/update",
    summary: "Updates tenant information",
    description: "Sets the tenant's callback URL: an absolute http(s) URL containing {} where the magic-link token goes.",
    responses: { 200: "Successfully updated tenant" }
  }))

/**
 * The `tenants` group (bearer token; 403 and 503 on every endpoint).
 * @since 0.0.0
 */
export class TenantsGroup extends HttpApiGroup.make("tenants")
  .add(getTenant)
  .add(updateTenant)
  .addError(UnavailableWire)
  .middleware(Authentication)
  .annotateContext(OpenApi.annotations({ description: "Operations on your tenant" }))
{}
