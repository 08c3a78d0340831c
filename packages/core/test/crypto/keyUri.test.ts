/**
 * The otpauth:// key URI (src/crypto/keyUri.ts): golden strings per the Key Uri Format.
 */
import { describe, expect, it } from "@effect/vitest"
import { URI } from "otpauth"
import { encodedKeyUriParts, totpKeyUri } from "../../src/crypto/keyUri.js"

const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

/** Reads a key URI as the format defines it: the label splits at its one literal ":". */
const parseKeyUri = (uri: string) => {
  const url = new URL(uri)
  // otpauth://totp/LABEL: "totp" is the URL's host, the label its path.
  expect(url.protocol + url.host).toBe("otpauth:totp")
  const label = url.pathname.slice(1)
  const [issuer, account] = label.includes(":") ? label.split(":") : ["", label]
  return {
    labelIssuer: decodeURIComponent(issuer!),
    account: decodeURIComponent(account!),
    query: url.search
  }
}

describe("totpKeyUri", () => {
  it("issuer with a space: %20, never +", () => {
    expect(totpKeyUri({ issuer: "ACME Co", account: "alice@example.com", secret })).toBe(
      "otpauth://totp/ACME%20Co:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
    )
  })

  it("a colon inside the issuer is %3A; a space in the account is %20", () => {
    expect(totpKeyUri({ issuer: "A:B", account: "x y", secret })).toBe(
      "otpauth://totp/A%3AB:x%20y?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=A%3AB&algorithm=SHA1&digits=6&period=30"
    )
  })

  it("a colon inside the account is %3A too", () => {
    expect(totpKeyUri({ issuer: "Acme", account: "urn:user:1", secret })).toBe(
      "otpauth://totp/Acme:urn%3Auser%3A1?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme&algorithm=SHA1&digits=6&period=30"
    )
  })

  it("non-ASCII is UTF-8 percent-encoded; reserved characters are encoded", () => {
    expect(totpKeyUri({ issuer: "Zürich & Co", account: "a+b?c#d/e", secret })).toBe(
      "otpauth://totp/Z%C3%BCrich%20%26%20Co:a%2Bb%3Fc%23d%2Fe?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Z%C3%BCrich%20%26%20Co&algorithm=SHA1&digits=6&period=30"
    )
  })

  it("the secret is written uppercase, without padding or spaces", () => {
    expect(totpKeyUri({ issuer: "Acme", account: "bob", secret: "mzxw 6ytb oi======" })).toBe(
      "otpauth://totp/Acme:bob?secret=MZXW6YTBOI&issuer=Acme&algorithm=SHA1&digits=6&period=30"
    )
  })

  it("a malformed secret cannot add parameters", () => {
    const uri = totpKeyUri({ issuer: "Acme", account: "bob", secret: "AAAA&issuer=Evil&digits=8" })
    const params = new URL(uri).searchParams
    expect(params.getAll("issuer")).toEqual(["Acme"])
    expect(params.getAll("digits")).toEqual(["6"])
  })

  it("an empty issuer gives a label of the account alone and no issuer parameter", () => {
    expect(totpKeyUri({ issuer: "", account: "bob", secret })).toBe(
      "otpauth://totp/bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30"
    )
  })

  it("never throws, even on lone surrogates (written as U+FFFD)", () => {
    expect(totpKeyUri({ issuer: "A\uD800", account: "\uDC00b", secret })).toBe(
      "otpauth://totp/A%EF%BF%BD:%EF%BF%BDb?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=A%EF%BF%BD&algorithm=SHA1&digits=6&period=30"
    )
    // A well-formed pair is kept.
    expect(totpKeyUri({ issuer: "\uD83D\uDE00", account: "b", secret })).toContain("totp/%F0%9F%98%80:b?")
  })

  it("reads back: issuer, account and parameters survive", () => {
    const uri = totpKeyUri({ issuer: "A:B C", account: "x:y z", secret })
    expect(parseKeyUri(uri)).toEqual({
      labelIssuer: "A:B C",
      account: "x:y z",
      query: "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=A%3AB%20C&algorithm=SHA1&digits=6&period=30"
    })
    const params = new URL(uri).searchParams
    expect(params.get("issuer")).toBe("A:B C")
    expect(params.get("secret")).toBe(secret)
  })

  it("otpauth's own parser reads a URI without colons in the parts", () => {
    const totp = URI.parse(totpKeyUri({ issuer: "ACME Co", account: "alice@example.com", secret }))
    expect(totp.issuer).toBe("ACME Co")
    expect(totp.label).toBe("alice@example.com")
    expect(totp.secret.base32).toBe(secret)
    expect([totp.algorithm, totp.digits, "period" in totp ? totp.period : undefined]).toEqual(["SHA1", 6, 30])
  })
})

describe("encodedKeyUriParts", () => {
  it("are the parts exactly as the key URI writes them, so their lengths are the room each takes", () => {
    const parts = { issuer: "Zürich & Co", account: "中", secret: "ΐ mzxw=" }
    const encoded = encodedKeyUriParts(parts)
    expect(encoded).toEqual({ issuer: "Z%C3%BCrich%20%26%20Co", account: "%E4%B8%AD", secret: "%CE%99%CC%88%CC%81MZXW" })
    expect(totpKeyUri(parts)).toBe(
      `otpauth://totp/${encoded.issuer}:${encoded.account}?secret=${encoded.secret}&issuer=${encoded.issuer}&algorithm=SHA1&digits=6&period=30`
    )
  })
})
