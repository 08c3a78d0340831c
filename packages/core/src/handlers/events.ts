/**
 * The handlers of the `events` and `webhooks` groups (SPEC 6).
 * @since 0.0.0
 */
import * as Events from "../operations/Events.js"
import * as Webhooks from "../operations/Webhooks.js"
import type { LagrelloHandlers } from "./index.js"

/** @since 0.0.0 */
export const events: LagrelloHandlers["events"] = {
  list: ({ principal, urlParams }) => Events.list(principal.tenantId, urlParams)
}

/** @since 0.0.0 */
export const webhooks: LagrelloHandlers["webhooks"] = {
  create: ({ payload, principal }) => Webhooks.create(principal.tenantId, payload),
  list: ({ principal }) => Webhooks.list(principal.tenantId),
  delete: ({ path, principal }) => Webhooks.remove(principal.tenantId, path.id),
  rotateSecret: ({ path, principal }) => Webhooks.rotateSecret(principal.tenantId, path.id),
  listDeliveries: ({ path, principal }) => Webhooks.deliveries(principal.tenantId, path.id),
  retryDelivery: ({ path, principal }) => Webhooks.retry(principal.tenantId, path.id, path.deliveryId)
}
