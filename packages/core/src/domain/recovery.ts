/**
 * The wire models of the additions beyond v1 (SPEC 5): recovery codes, the e-mail code and the
 * sign-in handoff between devices. Same rules as the v1 models: exact property names, optional
 * properties left out rather than sent as `null`, limits enforced on decode (400, naming the
 * property, never quoting the value).
 *
 * @since 0.0.0
 */
import * as Schema from "effect/Schema"
import { User } from "./models.js"

const dateTime = Schema.String.annotations({ jsonSchema: { type: "string", format: "date-time" } })

/**
 * A code the end user typed (a recovery code, or the code of a sign-in mail). Any text of 1-64
 * characters is taken: one that is not a code is simply wrong (401), not a bad request.
 * @since 0.0.0
 */
export const CodeRequest = Schema.Struct({
  code: Schema.String.pipe(
    Schema.minLength(1, { message: () => "code must not be empty" }),
    Schema.maxLength(64, { message: () => "code must be at most 64 characters" })
  ).annotations({ description: "The code the end user typed (dashes, spaces and case are ignored)" })
}).annotations({ identifier: "CodeRequest" })

/** @since 0.0.0 */
export type CodeRequest = typeof CodeRequest.Type

/**
 * A new set of recovery codes, shown this once: each `xxxx-xxxx-xxxx-xxxx` (80 random bits), only
 * their keyed hashes are kept.
 * @since 0.0.0
 */
export const RecoveryCodes = Schema.Struct({
  codes: Schema.Array(Schema.String.annotations({ jsonSchema: { type: "string", format: "password" } })),
  createdAt: dateTime
}).annotations({ identifier: "RecoveryCodes", description: "A new set of recovery codes, shown once" })

/** @since 0.0.0 */
export type RecoveryCodes = typeof RecoveryCodes.Type

/**
 * How many codes of the user's set are left unused, and when the set was made (left out when the
 * user has none).
 * @since 0.0.0
 */
export const RecoveryCodesStatus = Schema.Struct({
  remaining: Schema.Number.pipe(Schema.int(), Schema.greaterThanOrEqualTo(0)).annotations({
    jsonSchema: { type: "integer", minimum: 0 }
  }),
  createdAt: Schema.optionalWith(dateTime, { exact: true })
}).annotations({ identifier: "RecoveryCodesStatus" })

/** @since 0.0.0 */
export type RecoveryCodesStatus = typeof RecoveryCodesStatus.Type

/** The number the device that asked shows, and the person confirming picks: two digits, 10-99. @since 0.0.0 */
export const MatchNumber = Schema.Int.pipe(
  Schema.greaterThanOrEqualTo(10, { message: () => "matchNumber must be a whole number between 10 and 99" }),
  Schema.lessThanOrEqualTo(99, { message: () => "matchNumber must be a whole number between 10 and 99" })
).annotations({
  message: () => "matchNumber must be a whole number between 10 and 99",
  jsonSchema: { type: "integer", minimum: 10, maximum: 99 }
})

/**
 * A started handoff: the device that asked shows `matchNumber` and waits with `handoffId` (a
 * secret of 256 bits: whoever holds it and a READ token gets the user once it is approved).
 * @since 0.0.0
 */
export const Handoff = Schema.Struct({
  handoffId: Schema.String.annotations({ jsonSchema: { type: "string", format: "password", minLength: 43, maxLength: 43 } }),
  matchNumber: MatchNumber,
  expiresAt: dateTime
}).annotations({ identifier: "Handoff", description: "A sign-in handoff waiting for the link to be opened on another device" })

/** @since 0.0.0 */
export type Handoff = typeof Handoff.Type

/**
 * - `pending`: the link was not used yet;
 * - `approved`: confirmed with the right number; this answer carries the `User`, to exactly one
 *   reader (the handoff is then used up);
 * - `denied`: a wrong number was picked; the link is burnt;
 * - `expired`: no longer usable: its time ran out, its link was used up otherwise (its code was
 *   entered, a newer link was sent), or its approval was already read.
 * @since 0.0.0
 */
export const HandoffState = Schema.Literal("pending", "approved", "denied", "expired")

/** @since 0.0.0 */
export type HandoffState = typeof HandoffState.Type

/** @since 0.0.0 */
export const HandoffStatus = Schema.Struct({
  status: HandoffState,
  user: Schema.optionalWith(User, { exact: true })
}).annotations({ identifier: "HandoffStatus" })

/** @since 0.0.0 */
export type HandoffStatus = typeof HandoffStatus.Type

const linkToken = Schema.String.pipe(
  Schema.maxLength(1024, { message: () => "payload must be at most 1024 characters" })
).annotations({ description: "The token of the handoff link (the part of the link that replaced {})" })

/** @since 0.0.0 */
export const HandoffLinkRequest = Schema.Struct({ payload: linkToken }).annotations({ identifier: "HandoffLinkRequest" })

/** @since 0.0.0 */
export type HandoffLinkRequest = typeof HandoffLinkRequest.Type

/** The three numbers to offer on the device that opened the link, one of them the right one. @since 0.0.0 */
export const HandoffChoices = Schema.Struct({
  choices: Schema.Array(MatchNumber)
}).annotations({ identifier: "HandoffChoices" })

/** @since 0.0.0 */
export type HandoffChoices = typeof HandoffChoices.Type

/** @since 0.0.0 */
export const ApproveHandoffRequest = Schema.Struct({
  payload: linkToken,
  matchNumber: MatchNumber
}).annotations({ identifier: "ApproveHandoffRequest" })

/** @since 0.0.0 */
export type ApproveHandoffRequest = typeof ApproveHandoffRequest.Type
