/**
 * The client's error types are derived from the contract: each call fails with the errors its
 * endpoint, group and API declare, and nothing else. (Checked by the compiler: `npm test`
 * typechecks the tests.)
 */
import { describe, expectTypeOf, it } from "vitest"
import type { CallError, CommonError } from "../src/index.js"

type Tags<E> = E extends { readonly _tag: infer T } ? T : never

describe("error types derived from the contract", () => {
  it("every call: the API's and the group's errors, and transport failures", () => {
    expectTypeOf<Tags<CommonError>>().toEqualTypeOf<"InvalidPayload" | "Forbidden" | "Unavailable" | "LagrelloTransportError">()
  })
  it("each call adds its endpoint's own errors", () => {
    expectTypeOf<Tags<CallError<"auth", "sendMagicLink">>>().toEqualTypeOf<Tags<CommonError> | "NotFound" | "TooManyRequests">()
    expectTypeOf<Tags<CallError<"auth", "verifyTotp">>>().toEqualTypeOf<
      Tags<CommonError> | "Unauthorized" | "NotFound" | "TooManyRequests"
    >()
    expectTypeOf<Tags<CallError<"users", "create">>>().toEqualTypeOf<Tags<CommonError> | "Conflict">()
    expectTypeOf<Tags<CallError<"images", "totp">>>().toEqualTypeOf<"InvalidPayload" | "TooManyRequests" | "LagrelloTransportError">()
  })
  it("beyond v1: each call's own errors too", () => {
    expectTypeOf<Tags<CallError<"recovery", "generate">>>().toEqualTypeOf<Tags<CommonError> | "NotFound">()
    expectTypeOf<Tags<CallError<"recovery", "verify">>>().toEqualTypeOf<
      Tags<CommonError> | "Unauthorized" | "NotFound" | "TooManyRequests"
    >()
    expectTypeOf<Tags<CallError<"crossDevice", "verifyEmailCode">>>().toEqualTypeOf<Tags<CommonError> | "Unauthorized" | "NotFound">()
    expectTypeOf<Tags<CallError<"crossDevice", "startHandoff">>>().toEqualTypeOf<Tags<CommonError> | "NotFound" | "TooManyRequests">()
    expectTypeOf<Tags<CallError<"crossDevice", "getHandoff">>>().toEqualTypeOf<Tags<CommonError> | "NotFound">()
    expectTypeOf<Tags<CallError<"crossDevice", "approveHandoff">>>().toEqualTypeOf<Tags<CommonError> | "Unauthorized">()
  })
})
