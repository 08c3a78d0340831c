/**
 * The `crossDevice` group (SPEC 5.2, 5.3, beyond v1): the code of a sign-in mail, and the sign-in
 * handoff between two devices. Codes and link tokens travel in bodies, never in URLs.
 *
 * @since 0.0.0
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { User } from "../domain/models.js"
import {
  ApproveHandoffRequest,
  CodeRequest,
  Handoff,
  HandoffChoices,
  HandoffLinkRequest,
  HandoffStatus
} from "../domain/recovery.js"
import { operation } from "./openapi-transform.js"
import { UserIdParam } from "./params.js"
import { Authentication, RequiredPermission, SecretAnswer } from "./security.js"
import { NotFoundWire, TooManyRequestsWire, UnauthorizedWire, UnavailableWire } from "./wire-errors.js"

/**
 * The `{handoffId}` path parameter: the 43-character id `POST .../email/handoff` answered.
 * @since 0.0.0
 */
export const HandoffIdParam = HttpApiSchema.param(
  "handoffId",
  Schema.String.pipe(
    Schema.pattern(/^[A-Za-z0-9_-]{43}$/, {
      message: () => "handoffId must be the 43-character id that POST /v1/users/{userId}/email/handoff answered"
    })
  ).annotations({ description: "The handoff's id, as POST /v1/users/{userId}/email/handoff answered it" })
)

const waitMessage = () => "wait must be a whole number of seconds between 0 and 30"

/**
 * The query of `GET /v1/handoffs/{handoffId}`: `wait`, how long to wait for a decision (a long
 * poll), 0-30 seconds; 0 (the default) answers at once.
 * @since 0.0.0
 */
export const HandoffWaitParams = Schema.Struct({
  wait: Schema.optionalWith(
    Schema.compose(
      Schema.NumberFromString.annotations({ message: waitMessage }),
      Schema.Int.annotations({ message: waitMessage }).pipe(
        Schema.greaterThanOrEqualTo(0, { message: waitMessage }),
        Schema.lessThanOrEqualTo(30, { message: waitMessage })
      )
    ).annotations({
      description: "Seconds to wait while the handoff is pending (0-30; default 0)",
      jsonSchema: { type: "integer", minimum: 0, maximum: 30, description: "Seconds to wait while the handoff is pending (0-30; default 0)" }
    }),
    { exact: true }
  )
})

/** @since 0.0.0 */
export type HandoffWaitParams = typeof HandoffWaitParams.Type

/**
 * `POST /v1/users/{userId}/email/verify` with `{"code"}` -> 200 `User`: the code of the user's
 * last sign-in mail; 401 when it is wrong (the fifth wrong code ends the mail's challenge),
 * expired or used.
 */
const verifyEmailCode = HttpApiEndpoint.post("verifyEmailCode")`/v1/users/${UserIdParam}/email/verify`
  .setPayload(CodeRequest)
  .addSuccess(User)
  .addError(UnauthorizedWire)
  .addError(NotFoundWire)
  .annotate(RequiredPermission, "READ")
  .annotateContext(operation({
    id: "users/email/verifyCode",
    summary: "Verifies the code of the user's last sign-in mail",
    description: "The mail's link and code are one challenge: using either uses both up. Five wrong codes end it " +
      "(the link too).",
    responses: { 200: "Returns the user when the code is right", 404: "user could not be found" }
  }))

/**
 * `POST /v1/users/{userId}/email/handoff` -> 201 `Handoff`: sends the sign-in mail; the device
 * that asked shows `matchNumber` and waits with `handoffId`.
 */
const startHandoff = HttpApiEndpoint.post("startHandoff")`/v1/users/${UserIdParam}/email/handoff`
  .addSuccess(Handoff.annotations(HttpApiSchema.annotations({ status: 201, identifier: "Handoff" })))
  .addError(NotFoundWire)
  .addError(TooManyRequestsWire)
  .annotate(RequiredPermission, "WRITE")
  .annotate(SecretAnswer, true)
  .annotateContext(operation({
    id: "users/email/handoff",
    summary: "Starts a sign-in on this device that the user confirms from the mail on another device",
    description: "Sends the same mail as POST /v1/users/{userId}/email (throttled alike). Show matchNumber on " +
      "this device and wait with GET /v1/handoffs/{handoffId}.",
    responses: {
      201: "The handoff: its id (keep it secret), the number to show, and when it expires",
      404: "user could not be found",
      429: "Too many links were sent to this user: retry after the number of seconds in the Retry-After header"
    }
  }))

/**
 * `GET /v1/handoffs/{handoffId}?wait=SECONDS` -> 200 `HandoffStatus` (a long poll of at most 30 s).
 */
const getHandoff = HttpApiEndpoint.get("getHandoff")`/v1/handoffs/${HandoffIdParam}`
  .setUrlParams(HandoffWaitParams)
  .addSuccess(HandoffStatus)
  .addError(NotFoundWire)
  .annotate(RequiredPermission, "READ")
  // Once approved, the answer signs a device in: no cache may keep it.
  .annotate(SecretAnswer, true)
  .annotateContext(operation({
    id: "handoffs/get",
    summary: "The status of a handoff, waiting up to wait seconds while it is pending",
    description: "Answers as soon as the handoff is decided or expires, else pending after wait seconds. Once " +
      "approved, the answer carries the user to exactly one reader; later reads answer expired.",
    responses: { 200: "The status (and, approved, the user)", 404: "No such handoff" }
  }))

/**
 * `POST /v1/handoffs/choices` with `{"payload"}` -> 200 `HandoffChoices`; consumes nothing.
 */
const handoffChoices = HttpApiEndpoint.post("handoffChoices", "/v1/handoffs/choices")
  .setPayload(HandoffLinkRequest)
  .addSuccess(HandoffChoices)
  .addError(UnauthorizedWire)
  .annotate(RequiredPermission, "READ")
  .annotateContext(operation({
    id: "handoffs/choices",
    summary: "The three numbers to show on the device that opened a handoff's link",
    description: "One of them is the number the waiting device shows. Consumes nothing.",
    responses: { 200: "The numbers, in the order to show them" }
  }))

/**
 * `POST /v1/handoffs/approve` with `{"payload", "matchNumber"}` -> 204; a wrong number denies the
 * handoff and burns the link (401).
 */
const approveHandoff = HttpApiEndpoint.post("approveHandoff", "/v1/handoffs/approve")
  .setPayload(ApproveHandoffRequest)
  .addSuccess(HttpApiSchema.NoContent)
  .addError(UnauthorizedWire)
  .annotate(RequiredPermission, "READ")
  .annotateContext(operation({
    id: "handoffs/approve",
    summary: "Approves a handoff with the number the person picked",
    description: "The right number approves it (the waiting device is signed in); a wrong one denies it and the " +
      "link no longer works (401).",
    responses: { 204: "Approved: the waiting device gets the user" }
  }))

/**
 * The `crossDevice` group (bearer token; 403 and 503 on every endpoint).
 * @since 0.0.0
 */
export class CrossDeviceGroup extends HttpApiGroup.make("crossDevice")
  .add(verifyEmailCode)
  .add(startHandoff)
  .add(getHandoff)
  .add(handoffChoices)
  .add(approveHandoff)
  .addError(UnavailableWire)
  .middleware(Authentication)
  .annotateContext(OpenApi.annotations({ description: "Signing in across devices: the mail's code and the handoff (beyond v1)" }))
{}
