/**
 * The `images` group: the QR code of a TOTP key as a PNG, for clients that build the image URL
 * themselves. No security: it looks nothing up.
 *
 * @since 0.0.0
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { operation } from "./openapi-transform.js"
import { TotpImageParams } from "./params.js"
import { ClientRateLimit, SecretAnswer } from "./security.js"
import { TooManyRequestsWire } from "./wire-errors.js"

/**
 * The 200 answer of `GET /v1/images/totp`: the PNG bytes, `Content-Type: image/png`.
 */
const PngImage = HttpApiSchema.Uint8Array({ contentType: "image/png" })

/**
 * `GET /v1/images/totp?tenantName&userId&userSecret` -> 200 `image/png`; 400 when a parameter is
 * missing or invalid.
 */
const totpImage = HttpApiEndpoint.get("totp", "/v1/images/totp")
  .setUrlParams(TotpImageParams)
  .addSuccess(PngImage)
  // The image encodes the secret of its query.
  .annotate(SecretAnswer, true)
  // No token, and an image costs milliseconds of CPU: 60 a minute per client address.
  .annotate(ClientRateLimit, { requests: 60, perMillis: 60_000 })
  .addError(TooManyRequestsWire)
  .annotateContext(operation({
    id: "images/totp",
    summary: "Returns a generated QR code",
    description: "This endpoint does not do any lookups of any sort. It will just generate a QR code from the " +
      "parameters supplied to it.",
    responses: {
      200: "Gives back the QR code as an image",
      429: "Too many images for this client address: retry after the number of seconds in the Retry-After header"
    }
  }))

/**
 * The `images` group (no security).
 * @since 0.0.0
 */
export class ImagesGroup extends HttpApiGroup.make("images")
  .add(totpImage)
  .annotateContext(OpenApi.annotations({ description: "Endpoints to generate images" }))
{}
