/**
 * The wire models of the Lagrello v1 API, with the limits of SPEC 1.9 enforced on decode. Their
 * JSON forms are exactly the reference document's: same property names and case, optional
 * properties left out rather than sent as `null`.
 *
 * @since 0.0.0
 */
import * as Schema from "effect/Schema"
import { Permission } from "./permissions.js"

// Control characters (U+0000-U+001F, U+007F) are refused in identifiers: they break logs and
// headers and no legitimate id needs them.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const noControlCharacters = /^[^\u0000-\u001F\u007F]*$/

/**
 * A user's id within its tenant: 1-128 characters, no control characters.
 * @since 0.0.0
 */
export const UserId = Schema.String.pipe(
  Schema.minLength(1, { message: () => "userId must not be empty" }),
  Schema.maxLength(128, { message: () => "userId must be at most 128 characters" }),
  Schema.pattern(noControlCharacters, { message: () => "userId must not contain control characters" })
).annotations({ identifier: "UserId", description: "The id of a user within its tenant (1-128 characters)" })

// The WHATWG (HTML living standard) definition of a valid e-mail address, the one browsers use.
const emailPattern =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/

/**
 * A syntactically valid e-mail address of at most 254 characters.
 * @since 0.0.0
 */
export const Email = Schema.String.pipe(
  Schema.maxLength(254, { message: () => "email must be at most 254 characters" }),
  Schema.pattern(emailPattern, { message: () => "email must be a valid e-mail address" })
).annotations({ identifier: "Email", jsonSchema: { type: "string", format: "email", maxLength: 254 } })

/**
 * An absolute http(s) URL containing `{}`, where the magic-link token is placed.
 * @since 0.0.0
 */
export const CallbackUrl = Schema.String.pipe(
  Schema.maxLength(2048, { message: () => "callbackUrl must be at most 2048 characters" }),
  Schema.filter(
    (s) => {
      if (!s.includes("{}")) return "callbackUrl must contain {} where the token goes"
      if (!URL.canParse(s)) return "callbackUrl must be an absolute URL"
      const { protocol } = new URL(s)
      return protocol === "http:" || protocol === "https:" ? true : "callbackUrl must be an http(s) URL"
    }
  )
).annotations({
  identifier: "CallbackUrl",
  jsonSchema: { type: "string", format: "uri", example: "https://example.com/users/{}" }
})

/**
 * @since 0.0.0
 */
export const User = Schema.Struct({
  userId: UserId,
  email: Schema.optionalWith(Email, { exact: true })
}).annotations({ identifier: "User", description: "Information about a user." })

/** @since 0.0.0 */
export type User = typeof User.Type

/** @since 0.0.0 */
export const CreateUserRequest = Schema.Struct({
  userId: UserId,
  email: Schema.optionalWith(Email, { exact: true })
}).annotations({ identifier: "CreateUserRequest" })

/** @since 0.0.0 */
export type CreateUserRequest = typeof CreateUserRequest.Type

/** @since 0.0.0 */
export const UpdateUserRequest = Schema.Struct({
  email: Schema.optionalWith(Email, { exact: true })
}).annotations({ identifier: "UpdateUserRequest" })

/** @since 0.0.0 */
export type UpdateUserRequest = typeof UpdateUserRequest.Type

/** @since 0.0.0 */
export const TotpEnableRequest = Schema.Struct({
  enable: Schema.Boolean
}).annotations({ identifier: "TotpEnableRequest", description: "Enable (true) or disable (false) TOTP" })

/** @since 0.0.0 */
export type TotpEnableRequest = typeof TotpEnableRequest.Type

/** @since 0.0.0 */
export const TotpEnableResponse = Schema.Struct({
  secretKey: Schema.String.annotations({ jsonSchema: { type: "string", format: "password" } }),
  qrImage: Schema.String.annotations({ jsonSchema: { type: "string", format: "uri" } })
}).annotations({
  identifier: "TotpEnableResponse",
  description: "The base32 secret and a data: URI of the QR code image"
})

/** @since 0.0.0 */
export type TotpEnableResponse = typeof TotpEnableResponse.Type

/** @since 0.0.0 */
export const TenantCompanyInfo = Schema.Struct({
  Name: Schema.String,
  Address: Schema.String,
  City: Schema.String,
  PostalCode: Schema.String,
  Country: Schema.String,
  OrgNumber: Schema.String,
  VATNumber: Schema.String
}).annotations({ identifier: "TenantCompanyInfo" })

/** @since 0.0.0 */
export type TenantCompanyInfo = typeof TenantCompanyInfo.Type

/** @since 0.0.0 */
export const TenantName = Schema.String.pipe(
  Schema.minLength(1, { message: () => "tenantName must not be empty" }),
  Schema.maxLength(128, { message: () => "tenantName must be at most 128 characters" }),
  Schema.pattern(noControlCharacters, { message: () => "tenantName must not contain control characters" })
).annotations({ identifier: "TenantName" })

/**
 * A tenant. A self-hosted tenant is always `activated`; `companyInfo` strings are empty and
 * `callbackUrl` is `""` until one is set.
 * @since 0.0.0
 */
export const Tenant = Schema.Struct({
  tenantId: Schema.String.annotations({ jsonSchema: { type: "string", format: "uuid" } }),
  tenantName: TenantName,
  callbackUrl: Schema.String.annotations({ jsonSchema: { type: "string", format: "uri" } }),
  companyInfo: TenantCompanyInfo,
  activated: Schema.Boolean
}).annotations({ identifier: "Tenant" })

/** @since 0.0.0 */
export type Tenant = typeof Tenant.Type

/** @since 0.0.0 */
export const UpdateTenantRequest = Schema.Struct({
  callbackUrl: Schema.optionalWith(CallbackUrl, { exact: true })
}).annotations({ identifier: "UpdateTenantRequest" })

/** @since 0.0.0 */
export type UpdateTenantRequest = typeof UpdateTenantRequest.Type

/** @since 0.0.0 */
export const TokenName = Schema.String.pipe(
  Schema.minLength(1, { message: () => "tokenName must not be empty" }),
  Schema.maxLength(128, { message: () => "tokenName must be at most 128 characters" }),
  Schema.pattern(noControlCharacters, { message: () => "tokenName must not contain control characters" })
).annotations({ identifier: "TokenName" })

/**
 * An access token as listed: `tokenKey` is its public id, except in the answer to its creation
 * where it is the whole bearer token, shown that once.
 * @since 0.0.0
 */
export const Token = Schema.Struct({
  // A UUID either way: the public id in lists, the whole bearer token at creation (SPEC 1.6).
  tokenKey: Schema.String.annotations({ jsonSchema: { type: "string", format: "uuid" } }),
  tokenName: TokenName,
  createdBy: Schema.String,
  createdAt: Schema.String.annotations({ jsonSchema: { type: "string", format: "date-time" } }),
  permissions: Schema.Array(Permission)
}).annotations({ identifier: "Token" })

/** @since 0.0.0 */
export type Token = typeof Token.Type

/** @since 0.0.0 */
export const CreateTokenRequest = Schema.Struct({
  tokenName: TokenName,
  permissions: Schema.optionalWith(Schema.Array(Permission), { exact: true })
}).annotations({ identifier: "CreateTokenRequest" })

/** @since 0.0.0 */
export type CreateTokenRequest = typeof CreateTokenRequest.Type

/**
 * Links to the neighbouring pages of a list; `""` where there is none.
 * @since 0.0.0
 */
export const Paging = Schema.Struct({
  previous: Schema.String,
  next: Schema.String
}).annotations({ identifier: "Paging" })

/** @since 0.0.0 */
export type Paging = typeof Paging.Type

/** @since 0.0.0 */
export const TokenList = Schema.Struct({
  data: Schema.Array(Token),
  paging: Paging
}).annotations({ identifier: "TokenList" })

/** @since 0.0.0 */
export type TokenList = typeof TokenList.Type

/**
 * The body of every error answer.
 * @since 0.0.0
 */
export const ErrorBody = Schema.Struct({
  errorType: Schema.String,
  message: Schema.String
}).annotations({ identifier: "Error" })

/** @since 0.0.0 */
export type ErrorBody = typeof ErrorBody.Type
