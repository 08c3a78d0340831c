/**
 * Path and query parameters of the v1 endpoints, decoded from their string form.
 *
 * @since 0.0.0
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"
import { TenantName, UserId } from "../domain/models.js"

/**
 * The `{userId}` path parameter, decoded with the domain `UserId` schema (SPEC 1.9).
 * @since 0.0.0
 */
export const UserIdParam = HttpApiSchema.param("userId", UserId)

/**
 * The `{id}` path parameter of `DELETE /v1/tokens/{id}`: the token's public id, as the list shows
 * it in `tokenKey`. (The reference document names it `tokenId`, one of its mistakes.)
 * @since 0.0.0
 */
export const TokenIdParam = HttpApiSchema.param(
  "id",
  Schema.String.pipe(
    Schema.minLength(1, { message: () => "id must not be empty" }),
    Schema.maxLength(128, { message: () => "id must be at most 128 characters" })
  ).annotations({ description: "Id of the token you want to delete" })
)

/**
 * A whole number in a query string, at least `min` (and at most `max` when given), documented in
 * OpenAPI as an `integer` as the reference has it.
 */
const integerFromQuery = (name: string, description: string, min: number, max?: number) => {
  const range = max === undefined ? `at least ${min}` : `between ${min} and ${max}`
  const message = () => `${name} must be a whole number ${range}`
  const atLeast = Schema.Int.annotations({ message }).pipe(Schema.greaterThanOrEqualTo(min, { message }))
  const bounded = max === undefined ? atLeast : atLeast.pipe(Schema.lessThanOrEqualTo(max, { message }))
  return Schema.compose(Schema.NumberFromString.annotations({ message }), bounded).annotations({
    description,
    jsonSchema: max === undefined
      ? { type: "integer", minimum: min, description }
      : { type: "integer", minimum: min, maximum: max, description }
  })
}

/**
 * What the server uses when `GET /v1/tokens` leaves out `size` or `page`. Pages are numbered
 * from 1.
 * @since 0.0.0
 */
export const TokenListDefaults = { size: 20, page: 1 } as const

/**
 * The query of `GET /v1/tokens`: `size` (1-20) and `page` (1-based), both optional; see
 * {@link TokenListDefaults}.
 * @since 0.0.0
 */
export const TokenListParams = Schema.Struct({
  size: Schema.optionalWith(integerFromQuery("size", "Maximum of results per page", 1, 20), { exact: true }),
  page: Schema.optionalWith(integerFromQuery("page", "The page you want to see (the first is 1)", 1), {
    exact: true
  })
})

/** @since 0.0.0 */
export type TokenListParams = typeof TokenListParams.Type

/**
 * The query of the two verify operations: `payload` is the magic-link token or the TOTP code the
 * end user sent. Any string is accepted here: a malformed one is simply wrong (401), not a bad
 * request.
 * @since 0.0.0
 */
export const VerifyParams = Schema.Struct({
  payload: Schema.String.annotations({ description: "The token or code the end user sent" })
})

/** @since 0.0.0 */
export type VerifyParams = typeof VerifyParams.Type

/**
 * The query of `GET /v1/images/totp`. All three are required (the reference leaves them
 * optional, but no image can be made without them: missing ones are a 400 either way).
 * @since 0.0.0
 */
export const TotpImageParams = Schema.Struct({
  tenantName: TenantName.annotations({
    description: "The company name you want your users to see in their TOTP application"
  }),
  userId: UserId.annotations({ description: "The userId of the user you want to create the TOTP QR image for" }),
  userSecret: Schema.String.pipe(
    Schema.minLength(1, { message: () => "userSecret must not be empty" }),
    Schema.maxLength(128, { message: () => "userSecret must be at most 128 characters" })
  ).annotations({ description: "The TOTP secret for the specified user" })
})

/** @since 0.0.0 */
export type TotpImageParams = typeof TotpImageParams.Type
