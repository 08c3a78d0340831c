/**
 * The InvalidPayload messages of the server (SPEC 1.3): they name the parameter or property and
 * what was expected, stay under 300 characters, never quote the request's values back, and
 * survive any depth of input.
 */
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import {
  CreateTokenRequest,
  CreateUserRequest,
  TokenListParams,
  TotpEnableRequest,
  UpdateTenantRequest,
  VerifyParams
} from "../../src/contract/index.js"
import { describeIssues, invalidMessage, maxMessageLength } from "../../src/contract/issues.js"

const messageOf = (schema: Schema.Schema.Any, input: unknown, what = "body"): string => {
  const decoded = Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>, { errors: "all", onExcessProperty: "ignore" })(input)
  if (decoded._tag === "Right") throw new Error("expected a decoding failure")
  return invalidMessage(what, decoded.left)
}

const secret = "S3CRET-value-that-must-not-come-back"

describe("InvalidPayload messages", () => {
  it("name the property and the rule the contract wrote", () => {
    expect(messageOf(CreateUserRequest, { userId: "" })).toBe("Invalid body: userId: userId must not be empty")
    expect(messageOf(CreateUserRequest, { userId: "x".repeat(129) })).toBe("Invalid body: userId: userId must be at most 128 characters")
    expect(messageOf(CreateUserRequest, {})).toBe("Invalid body: userId: is required")
    expect(messageOf(TotpEnableRequest, { enable: "yes" })).toBe("Invalid body: enable: expected true or false")
    expect(messageOf(UpdateTenantRequest, { callbackUrl: "https://x.example" })).toBe(
      "Invalid body: callbackUrl: callbackUrl must contain {} where the token goes"
    )
    expect(messageOf(CreateTokenRequest, { tokenName: "t", permissions: ["ROOT"] })).toBe(
      'Invalid body: permissions.0: expected one of "READ", "WRITE", "ADMIN"'
    )
    expect(messageOf(TokenListParams, { size: "abc" }, "query")).toBe("Invalid query: size: size must be a whole number between 1 and 20")
    expect(messageOf(CreateUserRequest, [1, 2])).toBe("Invalid body: expected an object")
  })

  it("never quote a value back, wherever it is", () => {
    const inputs: ReadonlyArray<readonly [Schema.Schema.Any, unknown]> = [
      [VerifyParams, { payload: [secret, secret] }],
      [VerifyParams, { payload: { [secret]: secret } }],
      [CreateUserRequest, { userId: [secret], email: secret }],
      [CreateUserRequest, { userId: `${secret}\u0000`, email: `${secret}@` }],
      [CreateUserRequest, { userId: secret.repeat(10) }],
      [UpdateTenantRequest, { callbackUrl: `ftp://${secret}/{}` }],
      [CreateTokenRequest, { tokenName: 7, permissions: [secret, secret, secret] }],
      [TokenListParams, { size: secret, page: secret }],
      [TotpEnableRequest, secret]
    ]
    for (const [schema, input] of inputs) {
      const message = messageOf(schema, input)
      expect(message, message).not.toContain("S3CRET")
      expect(message.length).toBeLessThanOrEqual(maxMessageLength)
    }
  })

  it("stay short with many problems, and list at most five", () => {
    const Wide = Schema.Struct(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`property${i}WithAVeryLongNameThatTakesUpMostOfTheMessageOnItsOwn`, Schema.Boolean])))
    const message = messageOf(Wide, {})
    expect(message.length).toBeLessThanOrEqual(maxMessageLength)
    expect(message.endsWith("...")).toBe(true)
    const decoded = Schema.decodeUnknownEither(Wide, { errors: "all" })({})
    if (decoded._tag === "Left") expect(describeIssues(decoded.left.issue)).toHaveLength(5)
  })

  it("survive input nested 100,000 deep", () => {
    let deep: unknown = secret
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(messageOf(CreateUserRequest, deep)).toBe("Invalid body: expected an object")
    expect(messageOf(CreateUserRequest, { userId: deep })).toBe("Invalid body: userId: expected a string")
    expect(messageOf(CreateTokenRequest, { tokenName: "t", permissions: deep })).toMatch(/^Invalid body: permissions\.0: expected one of /)
  })
})
