/**
 * The handlers of the `tenants` group: the caller's own tenant.
 * @since 0.0.0
 */
import * as Tenants from "../operations/Tenants.js"
import type { LagrelloHandlers } from "./index.js"

/** @since 0.0.0 */
export const tenants: LagrelloHandlers["tenants"] = {
  get: ({ principal }) => Tenants.get(principal.tenantId),
  update: ({ payload, principal }) => Tenants.update(principal.tenantId, payload)
}
