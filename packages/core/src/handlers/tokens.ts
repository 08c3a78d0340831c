/**
 * The handlers of the `tokens` group: the tenant's access tokens.
 * @since 0.0.0
 */
import * as Tokens from "../operations/Tokens.js"
import type { LagrelloHandlers } from "./index.js"

/** @since 0.0.0 */
export const tokens: LagrelloHandlers["tokens"] = {
  list: ({ principal, urlParams }) => Tokens.list(principal, urlParams),
  create: ({ payload, principal }) => Tokens.create(principal, payload),
  delete: ({ path, principal }) => Tokens.revoke(principal, path.id)
}
