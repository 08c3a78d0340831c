/**
 * The handlers of the `recovery` group: recovery codes (SPEC 5.1).
 * @since 0.0.0
 */
import * as RecoveryCodes from "../operations/RecoveryCodes.js"
import type { LagrelloHandlers } from "./index.js"

/** @since 0.0.0 */
export const recovery: LagrelloHandlers["recovery"] = {
  generate: ({ path, principal }) => RecoveryCodes.generate(principal.tenantId, path.userId),
  status: ({ path, principal }) => RecoveryCodes.status(principal.tenantId, path.userId),
  verify: ({ path, payload, principal }) => RecoveryCodes.verify(principal.tenantId, path.userId, payload.code)
}
