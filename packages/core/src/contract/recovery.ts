/**
 * The `recovery` group (SPEC 5.1, beyond v1): recovery codes, single-use codes that stand in for
 * a lost authenticator. The codes travel in bodies, never in URLs.
 *
 * @since 0.0.0
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { User } from "../domain/models.js"
import { CodeRequest, RecoveryCodes, RecoveryCodesStatus } from "../domain/recovery.js"
import { operation } from "./openapi-transform.js"
import { UserIdParam } from "./params.js"
import { Authentication, RequiredPermission, SecretAnswer } from "./security.js"
import { NotFoundWire, TooManyRequestsWire, UnauthorizedWire, UnavailableWire } from "./wire-errors.js"

/**
 * `POST /v1/users/{userId}/recovery-codes` -> 200 `RecoveryCodes`: a new set, replacing the old
 * one at once; 400 when the user has no confirmed TOTP authenticator.
 */
const generateRecoveryCodes = HttpApiEndpoint.post("generate")`/v1/users/${UserIdParam}/recovery-codes`
  .addSuccess(RecoveryCodes)
  .addError(NotFoundWire)
  .annotate(RequiredPermission, "WRITE")
  .annotate(SecretAnswer, true)
  .annotateContext(operation({
    id: "users/recoveryCodes/generate",
    summary: "Creates a new set of recovery codes for the user, replacing the previous set at once",
    description: "The codes are shown this once (only keyed hashes are kept); each works once in place of a TOTP " +
      "code. The user needs a confirmed TOTP authenticator (else 400); turning TOTP off erases the codes.",
    responses: {
      200: "The new codes, each xxxx-xxxx-xxxx-xxxx",
      400: "The user has no confirmed TOTP authenticator, or a parameter is not valid",
      404: "user could not be found"
    }
  }))

/**
 * `GET /v1/users/{userId}/recovery-codes` -> 200 `RecoveryCodesStatus`.
 */
const getRecoveryCodes = HttpApiEndpoint.get("status")`/v1/users/${UserIdParam}/recovery-codes`
  .addSuccess(RecoveryCodesStatus)
  .addError(NotFoundWire)
  .annotate(RequiredPermission, "READ")
  .annotateContext(operation({
    id: "users/recoveryCodes/status",
    summary: "How many of the user's recovery codes are left, and when the set was made",
    responses: { 200: "The count of unused codes (0 without a set)", 404: "user could not be found" }
  }))

/**
 * `POST /v1/users/{userId}/recovery-codes/verify` with `{"code"}` -> 200 `User`; 401 wrong or
 * used; 429 while the TOTP failures are throttled.
 */
const verifyRecoveryCode = HttpApiEndpoint.post("verify")`/v1/users/${UserIdParam}/recovery-codes/verify`
  .setPayload(CodeRequest)
  .addSuccess(User)
  .addError(UnauthorizedWire)
  .addError(NotFoundWire)
  .addError(TooManyRequestsWire)
  .annotate(RequiredPermission, "READ")
  .annotateContext(operation({
    id: "users/recoveryCodes/verify",
    summary: "Verifies a recovery code and uses it up",
    description: "Dashes, spaces and case are ignored. A wrong code counts in the same failure counter and " +
      "lock-out as TOTP codes; of concurrent uses of one code exactly one succeeds.",
    responses: {
      200: "Returns the user when the code is right (it no longer works afterwards)",
      404: "user could not be found",
      429: "Too many wrong codes: retry after the number of seconds in the Retry-After header"
    }
  }))

/**
 * The `recovery` group (bearer token; 403 and 503 on every endpoint).
 * @since 0.0.0
 */
export class RecoveryGroup extends HttpApiGroup.make("recovery")
  .add(generateRecoveryCodes)
  .add(getRecoveryCodes)
  .add(verifyRecoveryCode)
  .addError(UnavailableWire)
  .middleware(Authentication)
  .annotateContext(OpenApi.annotations({ description: "Recovery codes: single-use codes in place of a lost authenticator (beyond v1)" }))
{}
