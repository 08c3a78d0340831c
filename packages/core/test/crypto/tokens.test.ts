/**
 * Token encoding, hashing and comparison (src/crypto/tokens.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import { constantTimeEqual, encodeToken, hashToken, isWellFormedToken } from "../../src/crypto/tokens.js"

const bytes32 = (fill: (i: number) => number) => Uint8Array.from({ length: 32 }, (_, i) => fill(i) & 0xff)

describe("encodeToken", () => {
  it("writes 32 bytes as 43 characters of unpadded base64url", () => {
    for (const token of [
      encodeToken(bytes32(() => 0)),
      encodeToken(bytes32(() => 0xff)),
      encodeToken(bytes32((i) => i * 37 + 11))
    ]) {
      expect(token).toHaveLength(43)
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    }
    expect(encodeToken(bytes32(() => 0xff))).toBe(`${"_".repeat(42)}8`)
    expect(encodeToken(bytes32(() => 0xfb))).toContain("-")
  })

  it("is the RFC 4648 §5 alphabet (RFC 4648 §10 vectors, padding dropped)", () => {
    const vectors = [
      ["", ""],
      ["f", "Zg"],
      ["fo", "Zm8"],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg"],
      ["fooba", "Zm9vYmE"],
      ["foobar", "Zm9vYmFy"]
    ] as const
    for (const [plain, encoded] of vectors) expect(encodeToken(new TextEncoder().encode(plain))).toBe(encoded)
  })

  it("encodes a view into a larger buffer by its own bytes only", () => {
    const backing = new Uint8Array(64).fill(0xff)
    backing.fill(0, 16, 48)
    expect(encodeToken(backing.subarray(16, 48))).toBe("A".repeat(43))
  })
})

describe("hashToken", () => {
  it("is SHA-256 as unpadded base64url", () => {
    const hash = hashToken("abc")
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/)
    // FIPS 180-2, Appendix B.1
    expect(Buffer.from(hash, "base64url").toString("hex")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
  })

  it("is stable, and differs for different tokens", () => {
    const a = encodeToken(bytes32((i) => i))
    const b = encodeToken(bytes32((i) => i + 1))
    expect(hashToken(a)).toBe(hashToken(a))
    expect(hashToken(a)).not.toBe(hashToken(b))
    expect(hashToken(a)).not.toBe(a)
  })

  it("never throws, even on lone surrogates", () => {
    expect(hashToken("\uD800")).toHaveLength(43)
  })
})

describe("constantTimeEqual", () => {
  it("true for equal strings, false otherwise", () => {
    const token = encodeToken(bytes32((i) => i * 7))
    expect(constantTimeEqual(token, `${token}`)).toBe(true)
    expect(constantTimeEqual("", "")).toBe(true)
    expect(constantTimeEqual(token, `${token.slice(0, 42)}${token[42] === "A" ? "B" : "A"}`)).toBe(false)
    expect(constantTimeEqual("abc", "abd")).toBe(false)
  })

  it("false (never a throw) for different lengths", () => {
    expect(constantTimeEqual("abc", "abcd")).toBe(false)
    expect(constantTimeEqual("", "a")).toBe(false)
    expect(constantTimeEqual("a".repeat(10_000), "a")).toBe(false)
    // Same UTF-16 length, different UTF-8 length.
    expect(constantTimeEqual("\u00e9", "e")).toBe(false)
  })
})

describe("isWellFormedToken", () => {
  it("accepts what encodeToken makes of 32 bytes", () => {
    for (let seed = 0; seed < 64; seed++) {
      expect(isWellFormedToken(encodeToken(bytes32((i) => i * seed + seed)))).toBe(true)
    }
  })

  it("refuses other lengths, other alphabets, stray bits and non-strings", () => {
    const token = encodeToken(bytes32((i) => i))
    const refused = [
      "",
      token.slice(0, 42),
      `${token}A`,
      `${token.slice(0, 42)}=`,
      `${token.slice(0, 41)}+A`,
      `${token.slice(0, 41)}/A`,
      `${token.slice(0, 41)} A`,
      `${token}\n`,
      `${token.slice(0, 42)}B`, // the last character's 2 spare bits must be zero
      `${token.slice(0, 42)}\u00c0`
    ]
    for (const s of refused) expect(isWellFormedToken(s)).toBe(false)
    for (const s of [null, undefined, 43, {}]) expect(isWellFormedToken(s as unknown as string)).toBe(false)
  })
})
