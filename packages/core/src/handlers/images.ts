/**
 * The handlers of the `images` group: no access token, no lookup.
 * @since 0.0.0
 */
import { totpQrPng } from "../crypto/qr.js"
import type { LagrelloHandlers } from "./index.js"

/** @since 0.0.0 */
export const images: LagrelloHandlers["images"] = {
  // A key URI too long for a QR code is a 400 naming the query parameters (tenantName, userId, userSecret).
  totp: ({ urlParams }) =>
    totpQrPng({ issuer: urlParams.tenantName, account: urlParams.userId, secret: urlParams.userSecret })
}
