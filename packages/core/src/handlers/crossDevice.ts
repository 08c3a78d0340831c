/**
 * The handlers of the `crossDevice` group: the mail's code and the sign-in handoff (SPEC 5.2, 5.3).
 * @since 0.0.0
 */
import * as EmailCode from "../operations/EmailCode.js"
import * as Handoff from "../operations/Handoff.js"
import type { LagrelloHandlers } from "./index.js"

/** @since 0.0.0 */
export const crossDevice: LagrelloHandlers["crossDevice"] = {
  verifyEmailCode: ({ path, payload, principal }) => EmailCode.verify(principal.tenantId, path.userId, payload.code),
  startHandoff: ({ path, principal }) => Handoff.start(principal.tenantId, path.userId),
  getHandoff: ({ path, principal, urlParams }) => Handoff.status(principal.tenantId, path.handoffId, urlParams.wait ?? 0),
  handoffChoices: ({ payload, principal }) => Handoff.choices(principal.tenantId, payload.payload),
  approveHandoff: ({ payload, principal }) => Handoff.approve(principal.tenantId, payload.payload, payload.matchNumber)
}
