/**
 * Query and path parameters decoded from their string form.
 */
import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { TokenListParams, TotpImageParams, UserIdParam } from "../../src/contract/index.js"

describe("TokenListParams", () => {
  const decode = Schema.decodeUnknownEither(TokenListParams)

  it("accepts no parameters (the server's defaults apply)", () => {
    expect(decode({})).toStrictEqual(Either.right({}))
  })

  it("decodes size 1-20 and page >= 1 from strings", () => {
    expect(decode({ size: "1", page: "1" })).toStrictEqual(Either.right({ size: 1, page: 1 }))
    expect(decode({ size: "20", page: "12345" })).toStrictEqual(Either.right({ size: 20, page: 12345 }))
  })

  it.each([
    { size: "0" },
    { size: "21" },
    { size: "1.5" },
    { size: "abc" },
    { size: "" },
    { size: "NaN" },
    { page: "0" },
    { page: "-1" },
    { page: "Infinity" },
    { page: "99999999999999999999" }
  ])("refuses %o, saying which parameter is wrong", (params) => {
    const result = decode(params)
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      const name = Object.keys(params)[0] ?? ""
      expect(result.left.message).toContain(`${name} must be a whole number`)
    }
  })
})

describe("path and image parameters", () => {
  it("userId follows the domain rules (1-128 characters, no control characters)", () => {
    const decode = Schema.decodeUnknownEither(UserIdParam)
    expect(decode("alice")).toStrictEqual(Either.right("alice"))
    expect(Either.isRight(decode("x".repeat(128)))).toBe(true)
    expect(Either.isLeft(decode("x".repeat(129)))).toBe(true)
    expect(Either.isLeft(decode(""))).toBe(true)
    expect(Either.isLeft(decode("a\u0000b"))).toBe(true)
  })

  it("GET /v1/images/totp needs all three parameters", () => {
    const decode = Schema.decodeUnknownEither(TotpImageParams)
    expect(Either.isRight(decode({ tenantName: "Acme", userId: "alice", userSecret: "JBSWY3DPEHPK3PXP" }))).toBe(true)
    expect(Either.isLeft(decode({ tenantName: "Acme", userId: "alice" }))).toBe(true)
    expect(Either.isLeft(decode({ tenantName: "", userId: "alice", userSecret: "S" }))).toBe(true)
  })
})
