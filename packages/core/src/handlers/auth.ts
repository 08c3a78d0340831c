/**
 * The handlers of the `auth` group: magic links and TOTP.
 * @since 0.0.0
 */
import * as MagicLink from "../operations/MagicLink.js"
import * as Totp from "../operations/Totp.js"
import type { LagrelloHandlers } from "./index.js"

/** @since 0.0.0 */
export const auth: LagrelloHandlers["auth"] = {
  sendMagicLink: ({ path, principal }) => MagicLink.send(principal.tenantId, path.userId),
  verifyMagicLink: ({ principal, urlParams }) => MagicLink.verify(principal.tenantId, urlParams.payload),
  verifyTotp: ({ path, principal, urlParams }) => Totp.verify(principal.tenantId, path.userId, urlParams.payload),
  // `{"enable": true}` answers the secret (200); `{"enable": false}` answers nothing (204).
  toggleTotp: ({ path, payload, principal }) =>
    payload.enable ? Totp.enable(principal.tenantId, path.userId) : Totp.disable(principal.tenantId, path.userId)
}
