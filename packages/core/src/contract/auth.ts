/**
 * The `auth` group: the four operations that authenticate end users (SPEC 2).
 *
 * @since 0.0.0
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { TotpEnableRequest, TotpEnableResponse, User } from "../domain/models.js"
import { operation } from "./openapi-transform.js"
import { UserIdParam, VerifyParams } from "./params.js"
import { Authentication, RequiredPermission, SecretAnswer } from "./security.js"
import { NotFoundWire, TooManyRequestsWire, UnauthorizedWire, UnavailableWire } from "./wire-errors.js"

/**
 * `GET /v1/users/email?payload=TOKEN` -> 200 `User`: verify (and consume) a magic link;
 * 401 when the token is wrong, expired or used.
 */
const verifyMagicLink = HttpApiEndpoint.get("verifyMagicLink", "/v1/users/email")
  .setUrlParams(VerifyParams)
  .addSuccess(User)
  .addError(UnauthorizedWire)
  .addError(NotFoundWire)
  .annotate(RequiredPermission, "READ")
  .annotateContext(operation({
    id: "users/email/auth",
    summary: "Gives back user data for the magic link token",
    responses: { 200: "Returns user data for authenticated user", 404: "user could not be found" }
  }))

/**
 * `POST /v1/users/{userId}/email` -> 204: send a magic link; 429 past the send limit.
 */
const sendMagicLink = HttpApiEndpoint.post("sendMagicLink")`/v1/users/${UserIdParam}/email`
  .addError(NotFoundWire)
  .addError(TooManyRequestsWire)
  .annotate(RequiredPermission, "WRITE")
  .annotateContext(operation({
    id: "users/email/send",
    summary: "This endpoint will be used when you want to send a magic login link to specified user",
    responses: {
      204: "Email to user has been sent successfully.",
      404: "user could not be found",
      429: "Too many links sent to this user: retry after the number of seconds in the Retry-After header"
    }
  }))

/**
 * `GET /v1/users/{userId}/totp?payload=CODE` -> 200 `User`: verify a TOTP code; 401 when it is
 * wrong, 429 while failures are throttled.
 */
const verifyTotp = HttpApiEndpoint.get("verifyTotp")`/v1/users/${UserIdParam}/totp`
  .setUrlParams(VerifyParams)
  .addSuccess(User)
  .addError(UnauthorizedWire)
  .addError(NotFoundWire)
  .addError(TooManyRequestsWire)
  .annotate(RequiredPermission, "READ")
  .annotateContext(operation({
    id: "users/totp/auth",
    summary: "Verify users TOTP token",
    responses: {
      200: "Success - Returns the user information if the totp token is correct",
      404: "user could not be found",
      429: "Too many wrong codes: retry after the number of seconds in the Retry-After header"
    }
  }))

/**
 * `POST /v1/users/{userId}/totp` with `{"enable": true}` -> 200 `TotpEnableResponse`, with
 * `{"enable": false}` -> 204 (empty body). The success is the union `TotpEnableResponse | void`:
 * a handler returns the response to answer 200 and `undefined` to answer 204.
 */
const toggleTotp = HttpApiEndpoint.post("toggleTotp")`/v1/users/${UserIdParam}/totp`
  .setPayload(TotpEnableRequest)
  .addSuccess(TotpEnableResponse)
  .addSuccess(HttpApiSchema.NoContent)
  .addError(NotFoundWire)
  .annotate(RequiredPermission, "WRITE")
  .annotate(SecretAnswer, true)
  .annotateContext(operation({
    id: "users/totp/toggle",
    summary: "Enables or disables Time-based One-Time Password authentication method for specified user",
    description: "Send enable set to true to enrol the user in TOTP: the answer holds the secret key and a QR code " +
      "image to show the user. Send enable set to false to turn TOTP off (204).",
    responses: {
      200: "Will return user's secret key and a data: URI of the QR-code image",
      204: "Success when disabling TOTP for user",
      404: "user could not be found"
    }
  }))

/**
 * The `auth` group (bearer token; 403 and 503 on every endpoint).
 * @since 0.0.0
 */
export class AuthGroup extends HttpApiGroup.make("auth")
  .add(verifyMagicLink)
  .add(sendMagicLink)
  .add(verifyTotp)
  .add(toggleTotp)
  .addError(UnavailableWire)
  .middleware(Authentication)
  .annotateContext(OpenApi.annotations({ description: "Authentication actions for your users" }))
{}
