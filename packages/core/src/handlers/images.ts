/**
 * The handlers of the `images` group: no access token, no lookup.
 * @since 0.0.0
 */
import { totpKeyUri } from "../crypto/keyUri.js"
import { qrPng } from "../crypto/qr.js"
import * as Effect from "effect/Effect"
import { InvalidPayload } from "../domain/errors.js"
import type { LagrelloHandlers } from "./index.js"

/** @since 0.0.0 */
export const images: LagrelloHandlers["images"] = {
  totp: ({ urlParams }) =>
    qrPng(totpKeyUri({ issuer: urlParams.tenantName, account: urlParams.userId, secret: urlParams.userSecret })).pipe(
      Effect.catchTag("QrError", () =>
        Effect.fail(new InvalidPayload({ message: "tenantName, userId and userSecret are too long together for a QR code" })))
    )
}
