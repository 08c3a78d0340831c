/**
 * The handlers of the `users` group.
 * @since 0.0.0
 */
import * as Users from "../operations/Users.js"
import type { LagrelloHandlers } from "./index.js"

/** @since 0.0.0 */
export const users: LagrelloHandlers["users"] = {
  create: ({ payload, principal }) => Users.create(principal.tenantId, payload),
  get: ({ path, principal }) => Users.get(principal.tenantId, path.userId),
  update: ({ path, payload, principal }) => Users.update(principal.tenantId, path.userId, payload),
  delete: ({ path, principal }) => Users.remove(principal.tenantId, path.userId)
}
