/**
 * The wire form of the typed errors (SPEC 1.3): exactly `{errorType, message}` out, the class back in.
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Either, Schema, SchemaAST } from "effect"
import { describe, expect, it } from "vitest"
import {
  Conflict,
  ConflictWire,
  Forbidden,
  ForbiddenWire,
  InvalidPayload,
  InvalidPayloadWire,
  NotFound,
  NotFoundWire,
  TooManyRequests,
  TooManyRequestsWire,
  Unauthorized,
  UnauthorizedWire,
  Unavailable,
  UnavailableWire,
  WireErrors
} from "../../src/contract/index.js"

const cases = [
  { tag: "InvalidPayload", status: 400, wire: InvalidPayloadWire, make: () => new InvalidPayload({ message: "m" }) },
  { tag: "Unauthorized", status: 401, wire: UnauthorizedWire, make: () => new Unauthorized({ message: "m" }) },
  { tag: "Forbidden", status: 403, wire: ForbiddenWire, make: () => new Forbidden({ message: "m" }) },
  { tag: "NotFound", status: 404, wire: NotFoundWire, make: () => new NotFound({ message: "m" }) },
  { tag: "Conflict", status: 409, wire: ConflictWire, make: () => new Conflict({ message: "m" }) },
  {
    tag: "TooManyRequests",
    status: 429,
    wire: TooManyRequestsWire,
    make: () => new TooManyRequests({ message: "m", retryAfterSeconds: 30 })
  },
  { tag: "Unavailable", status: 503, wire: UnavailableWire, make: () => new Unavailable({ message: "m" }) }
] as const

// The schemas differ in their decoded type; the tests only need their common encoded side.
const asUnknown = (wire: (typeof cases)[number]["wire"]) =>
  wire as unknown as Schema.Schema<{ readonly _tag: string }, { readonly errorType: string; readonly message: string }>

describe("wire errors", () => {
  it("covers every typed error, by errorType", () => {
    expect(Object.keys(WireErrors).sort()).toEqual(cases.map((c) => c.tag).sort())
    for (const c of cases) expect(WireErrors[c.tag]).toBe(c.wire)
  })

  it.each(cases)("$tag encodes to exactly {errorType, message}", ({ tag, wire, make }) => {
    const encoded = Schema.encodeSync(asUnknown(wire))(make())
    expect(encoded).toStrictEqual({ errorType: tag, message: "m" })
    expect(JSON.stringify(encoded)).toBe(`{"errorType":"${tag}","message":"m"}`)
  })

  it.each(cases)("$tag decodes back to its class", ({ tag, wire, make }) => {
    const decoded = Schema.decodeUnknownSync(asUnknown(wire))({ errorType: tag, message: "m" })
    expect(decoded).toBeInstanceOf(make().constructor)
    expect(decoded._tag).toBe(tag)
    expect((decoded as { readonly message?: string }).message).toBe("m")
  })

  it.each(cases)("$tag refuses a body naming another error, or no body", ({ tag, wire }) => {
    const other = tag === "Conflict" ? "Forbidden" : "Conflict"
    const decode = Schema.decodeUnknownEither(asUnknown(wire))
    expect(Either.isLeft(decode({ errorType: other, message: "m" }))).toBe(true)
    expect(Either.isLeft(decode({ errorType: tag }))).toBe(true)
    expect(Either.isLeft(decode(undefined))).toBe(true)
  })

  it("Forbidden refuses a Conflict body", () => {
    const result = Schema.decodeUnknownEither(ForbiddenWire)({ errorType: "Conflict", message: "already exists" })
    expect(Either.isLeft(result)).toBe(true)
  })

  it.each(cases)("$tag carries its status and is documented as the one Error component", ({ status, wire }) => {
    expect(HttpApiSchema.getStatusError(wire)).toBe(status)
    expect(wire.ast.annotations[SchemaAST.JSONIdentifierAnnotationId]).toBe("Error")
  })

  describe("TooManyRequests", () => {
    it("never puts retryAfterSeconds on the wire", () => {
      const encoded = Schema.encodeSync(TooManyRequestsWire)(new TooManyRequests({ message: "m", retryAfterSeconds: 42 }))
      expect(encoded).toStrictEqual({ errorType: "TooManyRequests", message: "m" })
    })

    it("decodes the plain wire body with retryAfterSeconds 0 (unknown)", () => {
      const decoded = Schema.decodeUnknownSync(TooManyRequestsWire)({ errorType: "TooManyRequests", message: "m" })
      expect(decoded).toBeInstanceOf(TooManyRequests)
      expect(decoded.retryAfterSeconds).toBe(0)
    })

    it("takes retryAfterSeconds from a property a client injected from the Retry-After header", () => {
      const decode = Schema.decodeUnknownSync(TooManyRequestsWire)
      expect(decode({ errorType: "TooManyRequests", message: "m", retryAfterSeconds: 42 }).retryAfterSeconds).toBe(42)
      // Anything but a non-negative integer is ignored.
      for (const bad of [-1, 1.5, "42", null]) {
        expect(decode({ errorType: "TooManyRequests", message: "m", retryAfterSeconds: bad }).retryAfterSeconds).toBe(0)
      }
    })
  })
})
