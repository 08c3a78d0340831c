/**
 * HOTP/TOTP and base32 (src/crypto/otp.ts): every vector of RFC 4226 App. D and RFC 6238 App. B,
 * parsed from excerpts of the RFC texts, and the verifier's window and input handling.
 */
import { createHmac } from "node:crypto"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import { HOTP, Secret } from "otpauth"
import {
  base32Decode,
  base32Encode,
  type HashAlgorithm,
  hotp,
  totpAt,
  totpStep,
  verifyTotp
} from "../../src/crypto/otp.js"

// ---------------------------------------------------------------------------------------------
// Excerpts of the RFCs, verbatim (checked against the whole texts in test/fixtures).

/** RFC 4226, Appendix D: the secret, Table 1 (HMAC-SHA-1 values) and Table 2 (truncation, HOTP). */
const RFC4226_APPENDIX_D = `
   Secret = 0x3132333435363738393031323334353637383930

   Table 1 details for each count, the intermediate HMAC value.

   Count    Hexadecimal HMAC-SHA-1(secret, count)
   0        cc93cf18508d94934c64b65d8ba7667fb7cde4b0
   1        75a48a19d4cbe100644e8ac1397eea747a2d33ab
   2        0bacb7fa082fef30782211938bc1c5e70416ff44
   3        66c28227d03a2d5529262ff016a1e6ef76557ece
   4        a904c900a64b35909874b33e61c5938a8e15ed1c
   5        a37e783d7b7233c083d4f62926c7a25f238d0316
   6        bc9cd28561042c83f219324d3c607256c03272ae
   7        a4fb960c0bc06e1eabb804e5b397cdc4b45596fa
   8        1b3c89f65e6c9e883012052823443f048b4332db
   9        1637409809a679dc698207310c8c7fc07290d9e5

   Table 2 details for each count the truncated values (both in
   hexadecimal and decimal) and then the HOTP value.

                     Truncated
   Count    Hexadecimal    Decimal        HOTP
   0        4c93cf18       1284755224     755224
   1        41397eea       1094287082     287082
   2         82fef30        137359152     359152
   3        66ef7655       1726969429     969429
   4        61c5938a       1640338314     338314
   5        33c083d4        868254676     254676
   6        7256c032       1918287922     287922
   7         4e5b397         82162583     162583
   8        2823443f        673399871     399871
   9        2679dc69        645520489     520489
`

/** RFC 6238, Appendix A: the seeds of the reference implementation (SHA1, SHA256, SHA512). */
const RFC6238_APPENDIX_A_SEEDS = `
         // Seed for HMAC-SHA1 - 20 bytes
         String seed = "3132333435363738393031323334353637383930";
         // Seed for HMAC-SHA256 - 32 bytes
         String seed32 = "3132333435363738393031323334353637383930" +
         "313233343536373839303132";
         // Seed for HMAC-SHA512 - 64 bytes
         String seed64 = "3132333435363738393031323334353637383930" +
         "3132333435363738393031323334353637383930" +
         "3132333435363738393031323334353637383930" +
         "31323334";
`

/** RFC 6238, Appendix B: Table 1 (8 digits, X = 30, T0 = 0). */
const RFC6238_APPENDIX_B = `
  +-------------+--------------+------------------+----------+--------+
  |  Time (sec) |   UTC Time   | Value of T (hex) |   TOTP   |  Mode  |
  +-------------+--------------+------------------+----------+--------+
  |      59     |  1970-01-01  | 0000000000000001 | 94287082 |  SHA1  |
  |             |   00:00:59   |                  |          |        |
  |      59     |  1970-01-01  | 0000000000000001 | 46119246 | SHA256 |
  |             |   00:00:59   |                  |          |        |
  |      59     |  1970-01-01  | 0000000000000001 | 90693936 | SHA512 |
  |             |   00:00:59   |                  |          |        |
  |  1111111109 |  2005-03-18  | 00000000023523EC | 07081804 |  SHA1  |
  |             |   01:58:29   |                  |          |        |
  |  1111111109 |  2005-03-18  | 00000000023523EC | 68084774 | SHA256 |
  |             |   01:58:29   |                  |          |        |
  |  1111111109 |  2005-03-18  | 00000000023523EC | 25091201 | SHA512 |
  |             |   01:58:29   |                  |          |        |
  |  1111111111 |  2005-03-18  | 00000000023523ED | 14050471 |  SHA1  |
  |             |   01:58:31   |                  |          |        |
  |  1111111111 |  2005-03-18  | 00000000023523ED | 67062674 | SHA256 |
  |             |   01:58:31   |                  |          |        |
  |  1111111111 |  2005-03-18  | 00000000023523ED | 99943326 | SHA512 |
  |             |   01:58:31   |                  |          |        |
  |  1234567890 |  2009-02-13  | 000000000273EF07 | 89005924 |  SHA1  |
  |             |   23:31:30   |                  |          |        |
  |  1234567890 |  2009-02-13  | 000000000273EF07 | 91819424 | SHA256 |
  |             |   23:31:30   |                  |          |        |
  |  1234567890 |  2009-02-13  | 000000000273EF07 | 93441116 | SHA512 |
  |             |   23:31:30   |                  |          |        |
  |  2000000000 |  2033-05-18  | 0000000003F940AA | 69279037 |  SHA1  |
  |             |   03:33:20   |                  |          |        |
  |  2000000000 |  2033-05-18  | 0000000003F940AA | 90698825 | SHA256 |
  |             |   03:33:20   |                  |          |        |
  |  2000000000 |  2033-05-18  | 0000000003F940AA | 38618901 | SHA512 |
  |             |   03:33:20   |                  |          |        |
  | 20000000000 |  2603-10-11  | 0000000027BC86AA | 65353130 |  SHA1  |
  |             |   11:33:20   |                  |          |        |
  | 20000000000 |  2603-10-11  | 0000000027BC86AA | 77737706 | SHA256 |
  |             |   11:33:20   |                  |          |        |
  | 20000000000 |  2603-10-11  | 0000000027BC86AA | 47863826 | SHA512 |
  |             |   11:33:20   |                  |          |        |
  +-------------+--------------+------------------+----------+--------+
`

const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"))

const referenceDir = fileURLToPath(new URL("../fixtures", import.meta.url))

describe("the RFC excerpts", () => {
  it("are verbatim copies of the RFC texts", () => {
    const rfc4226 = readFileSync(`${referenceDir}/rfc4226.txt`, "utf8")
    const rfc6238 = readFileSync(`${referenceDir}/rfc6238.txt`, "utf8")
    expect(rfc4226.includes(RFC4226_APPENDIX_D.slice(1, -1))).toBe(true)
    expect(rfc6238.includes(RFC6238_APPENDIX_A_SEEDS.slice(1, -1))).toBe(true)
    expect(rfc6238.includes(RFC6238_APPENDIX_B.slice(1, -1))).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------
// RFC 4226

const rfc4226Secret = hex(/Secret = 0x([0-9a-f]+)/.exec(RFC4226_APPENDIX_D)![1]!)

const hmacRows = [...RFC4226_APPENDIX_D.matchAll(/^ {3}(\d)\s+([0-9a-f]{40})$/gm)].map((m) => ({
  count: Number(m[1]),
  hmac: m[2]!
}))

const hotpRows = [...RFC4226_APPENDIX_D.matchAll(/^ {3}(\d)\s+([0-9a-f]{1,8})\s+(\d+)\s+(\d{6})$/gm)].map((m) => ({
  count: Number(m[1]),
  truncatedHex: m[2]!,
  truncatedDecimal: Number(m[3]),
  hotp: m[4]!
}))

/**
 * An independent HOTP written from RFC 4226 §5.3 with node:crypto (big-endian 8-byte counter,
 * dynamic truncation), to check otpauth's beyond the RFC's tables (e.g. 64-bit counters).
 */
const referenceHotp = (secret: Uint8Array, counter: bigint, digits = 6, algorithm: HashAlgorithm = "SHA1") => {
  const message = Buffer.alloc(8)
  message.writeBigUInt64BE(counter)
  const mac = createHmac(algorithm, secret).update(message).digest()
  const offset = mac[mac.length - 1]! & 0x0f
  const truncated = mac.readUInt32BE(offset) & 0x7fffffff
  return { mac, truncated, code: String(truncated % 10 ** digits).padStart(digits, "0") }
}

describe("RFC 4226 Appendix D", () => {
  it("the excerpt holds the 10 rows of both tables", () => {
    expect(rfc4226Secret).toEqual(new TextEncoder().encode("12345678901234567890"))
    expect(hmacRows.map((r) => r.count)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(hotpRows.map((r) => r.count)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it.each(hotpRows)("count $count gives $hotp", ({ count, hotp: expected, truncatedDecimal, truncatedHex }) => {
    expect(hotp(rfc4226Secret, count)).toBe(expected)
    // The independent implementation agrees with every intermediate value of the tables.
    const reference = referenceHotp(rfc4226Secret, BigInt(count))
    expect(reference.mac.toString("hex")).toBe(hmacRows[count]!.hmac)
    expect(reference.truncated).toBe(Number.parseInt(truncatedHex, 16))
    expect(reference.truncated).toBe(truncatedDecimal)
    expect(reference.code).toBe(expected)
  })

  it("counters beyond 32 bits are encoded on 8 bytes", () => {
    for (const counter of [2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
      expect(hotp(rfc4226Secret, counter)).toBe(referenceHotp(rfc4226Secret, BigInt(counter)).code)
    }
  })

  it("answers the empty string (never throws) for a counter that is not a non-negative safe integer", () => {
    for (const counter of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
      expect(hotp(rfc4226Secret, counter)).toBe("")
    }
    expect(hotp(rfc4226Secret, 0, { digits: 9 as 8 })).toBe("")
    expect(hotp(rfc4226Secret, 0, { algorithm: "MD5" as "SHA1" })).toBe("")
  })
})

// ---------------------------------------------------------------------------------------------
// RFC 6238

const seedDeclarations = RFC6238_APPENDIX_A_SEEDS.split(/;/)
const seedOf = (name: string): Uint8Array => {
  const declaration = seedDeclarations.find((d) => new RegExp(`String ${name} =`).test(d))!
  return hex([...declaration.matchAll(/"([0-9a-f]+)"/g)].map((m) => m[1]).join(""))
}
const seeds: Record<HashAlgorithm, Uint8Array> = {
  SHA1: seedOf("seed"),
  SHA256: seedOf("seed32"),
  SHA512: seedOf("seed64")
}

const totpRows = [
  ...RFC6238_APPENDIX_B.matchAll(/^ {2}\|\s+(\d+)\s+\|[^|]+\|\s+([0-9A-F]{16})\s+\|\s+(\d{8})\s+\|\s+(SHA\d+)\s+\|$/gm)
].map((m) => ({
  time: Number(m[1]),
  stepHex: m[2]!,
  totp: m[3]!,
  mode: m[4] as HashAlgorithm
}))

describe("RFC 6238 Appendix B", () => {
  it("the excerpt holds 18 rows; the seeds are 20, 32 and 64 bytes of 1234567890...", () => {
    expect(totpRows).toHaveLength(18)
    const ascii = "1234567890".repeat(7)
    expect(seeds.SHA1).toEqual(new TextEncoder().encode(ascii.slice(0, 20)))
    expect(seeds.SHA256).toEqual(new TextEncoder().encode(ascii.slice(0, 32)))
    expect(seeds.SHA512).toEqual(new TextEncoder().encode(ascii.slice(0, 64)))
  })

  it.each(totpRows)("$time s, $mode gives $totp", ({ mode, stepHex, time, totp }) => {
    expect(totpStep(time * 1000)).toBe(Number.parseInt(stepHex, 16))
    expect(totpAt(seeds[mode], time * 1000, { digits: 8, algorithm: mode })).toBe(totp)
  })

  it("reusing the 20-byte seed for SHA256 / SHA512 gives the checklist's values at t = 59", () => {
    expect(totpAt(seeds.SHA1, 59_000, { digits: 8, algorithm: "SHA256" })).toBe("32247374")
    expect(totpAt(seeds.SHA1, 59_000, { digits: 8, algorithm: "SHA512" })).toBe("69342147")
  })
})

describe("totpStep", () => {
  it("steps are 30 s from the epoch, boundaries exact", () => {
    expect(totpStep(0)).toBe(0)
    expect(totpStep(29_999)).toBe(0)
    expect(totpStep(30_000)).toBe(1)
    expect(totpStep(1_111_111_109_000)).toBe(0x023523ec)
    expect(totpStep(59_999, 60)).toBe(0)
    expect(totpStep(60_000, 60)).toBe(1)
  })

  it("is NaN for non-finite input or a non-positive period", () => {
    expect(totpStep(Number.NaN)).toBeNaN()
    expect(totpStep(Number.POSITIVE_INFINITY)).toBeNaN()
    expect(totpStep(1000, 0)).toBeNaN()
    expect(totpStep(1000, -30)).toBeNaN()
  })
})

// ---------------------------------------------------------------------------------------------
// verifyTotp

describe("verifyTotp", () => {
  const secret = seeds.SHA1
  // 2026-01-01T00:00:10Z: ten seconds into a step.
  const now = Date.UTC(2026, 0, 1) + 10_000
  const T = totpStep(now)
  const codeAt = (step: number) => hotp(secret, step)

  afterEach(() => {
    vi.restoreAllMocks()
  })

  it("accepts the code of step T and answers T", () => {
    expect(verifyTotp(secret, codeAt(T), now)).toBe(T)
    expect(verifyTotp(secret, totpAt(secret, now), now)).toBe(T)
  })

  it("accepts T-1 and T+1 and answers the matched step", () => {
    expect(verifyTotp(secret, codeAt(T - 1), now)).toBe(T - 1)
    expect(verifyTotp(secret, codeAt(T + 1), now)).toBe(T + 1)
  })

  it("refuses T-2 and T+2", () => {
    expect(verifyTotp(secret, codeAt(T - 2), now)).toBeUndefined()
    expect(verifyTotp(secret, codeAt(T + 2), now)).toBeUndefined()
  })

  it("the window is configurable: 0 accepts only T, 2 reaches T-2 and T+2", () => {
    expect(verifyTotp(secret, codeAt(T), now, 0)).toBe(T)
    expect(verifyTotp(secret, codeAt(T - 1), now, 0)).toBeUndefined()
    expect(verifyTotp(secret, codeAt(T - 2), now, 2)).toBe(T - 2)
    expect(verifyTotp(secret, codeAt(T + 2), now, 2)).toBe(T + 2)
  })

  it("the step is decided by the time: the same code moves from T to T-1 to refused", () => {
    const code = codeAt(T)
    expect(verifyTotp(secret, code, now + 30_000)).toBe(T)
    expect(verifyTotp(secret, code, now + 60_000)).toBeUndefined()
  })

  it("answers step 0 as 0 (a match, not a falsy miss), and never a step below 0", () => {
    expect(verifyTotp(secret, codeAt(0), 10_000)).toBe(0)
    // At T = 0 the window would reach step -1, which is not a counter.
    expect(verifyTotp(secret, codeAt(1), 10_000)).toBe(1)
  })

  it("refuses malformed codes without throwing and before any HMAC", () => {
    const validate = vi.spyOn(HOTP, "validate")
    const right = codeAt(T)
    const malformed = [
      "",
      "12345",
      "1234567",
      right.slice(0, 5),
      `${right}0`,
      "abcdef",
      `${right.slice(0, 5)}a`,
      ` ${right}`,
      `${right} `,
      `${right}\n`,
      "-12345",
      "+12345",
      "12 345",
      "1e5000",
      "\u0661\u0662\u0663\u0664\u0665\u0666", // Arabic-Indic digits
      "\uFF11\uFF12\uFF13\uFF14\uFF15\uFF16", // fullwidth digits
      "\u0967\u0968\u0969\u096A\u096B\u096C", // Devanagari digits
      "\uD800\uD800\uD800\uD800\uD800\uD800", // lone surrogates
      "１２３４５６"
    ]
    for (const code of malformed) {
      expect(() => verifyTotp(secret, code, now)).not.toThrow()
      expect(verifyTotp(secret, code, now)).toBeUndefined()
    }
    for (const code of [null, undefined, 123456, {}, ["123456"]]) {
      expect(verifyTotp(secret, code as unknown as string, now)).toBeUndefined()
    }
    expect(validate).not.toHaveBeenCalled()
    verifyTotp(secret, right, now)
    expect(validate).toHaveBeenCalledTimes(1)
  })

  it("refuses odd secrets, instants and windows without throwing", () => {
    const code = codeAt(T)
    expect(verifyTotp(secret.slice(0, 15), hotp(secret.slice(0, 15), T), now)).toBeUndefined()
    expect(verifyTotp("secret" as unknown as Uint8Array, code, now)).toBeUndefined()
    expect(verifyTotp(secret, code, Number.NaN)).toBeUndefined()
    expect(verifyTotp(secret, code, Number.POSITIVE_INFINITY)).toBeUndefined()
    expect(verifyTotp(secret, code, -1)).toBeUndefined()
    for (const window of [-1, 0.5, 11, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(verifyTotp(secret, code, now, window)).toBeUndefined()
    }
  })

  it("works on a secret that is a view into a larger buffer", () => {
    const backing = new Uint8Array(64).fill(0xff)
    backing.set(secret, 7)
    const view = backing.subarray(7, 7 + secret.length)
    expect(verifyTotp(view, codeAt(T), now)).toBe(T)
  })

  it("(why the pre-check matters) otpauth itself throws on six non-ASCII characters", () => {
    // otpauth checks the token's UTF-16 length, then compares UTF-8 buffers with
    // crypto.timingSafeEqual, which throws when their byte lengths differ.
    const token = "\u0661\u0662\u0663\u0664\u0665\u0666"
    expect(() => HOTP.validate({ token, secret: new Secret({ buffer: secret.slice().buffer }) })).toThrow(RangeError)
  })
})

// ---------------------------------------------------------------------------------------------
// base32

describe("base32", () => {
  it("encodes the RFC seed as GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ and decodes it back", () => {
    expect(base32Encode(seeds.SHA1)).toBe("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
    expect(base32Decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")).toEqual(seeds.SHA1)
  })

  it("matches the RFC 4648 §10 vectors (unpadded on encoding, padded accepted on decoding)", () => {
    const vectors: ReadonlyArray<readonly [string, string]> = [
      ["", ""],
      ["f", "MY======"],
      ["fo", "MZXQ===="],
      ["foo", "MZXW6==="],
      ["foob", "MZXW6YQ="],
      ["fooba", "MZXW6YTB"],
      ["foobar", "MZXW6YTBOI======"]
    ]
    for (const [plain, encoded] of vectors) {
      const bytes = new TextEncoder().encode(plain)
      expect(base32Encode(bytes)).toBe(encoded.replace(/=+$/, ""))
      expect(base32Decode(encoded)).toEqual(bytes)
      expect(base32Decode(encoded.replace(/=+$/, ""))).toEqual(bytes)
    }
  })

  it("round-trips every length from 0 to 64 bytes", () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 73 + n * 31) & 0xff)
      const encoded = base32Encode(bytes)
      expect(encoded).toMatch(/^[A-Z2-7]*$/)
      expect(encoded).toHaveLength(Math.ceil((n * 8) / 5))
      expect(base32Decode(encoded)).toEqual(bytes)
    }
  })

  it("encodes a view into a larger buffer by its own bytes only", () => {
    const backing = new Uint8Array(40).fill(0xff)
    backing.set(seeds.SHA1, 10)
    expect(base32Encode(backing.subarray(10, 30))).toBe("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
  })

  it("tolerates lowercase, spaces and padding", () => {
    expect(base32Decode("gezdgnbvgy3tqojqgezdgnbvgy3tqojq")).toEqual(seeds.SHA1)
    expect(base32Decode("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ")).toEqual(seeds.SHA1)
    expect(base32Decode(" gezd gnbv gy3t qojq\tgezd gnbv gy3t qojq \n")).toEqual(seeds.SHA1)
    expect(base32Decode("MZXW6YQ=")).toEqual(new TextEncoder().encode("foob"))
  })

  it("answers undefined for anything else, without throwing", () => {
    const invalid = [
      "GEZDGNBVGY3TQOJ1", // 1 is not base32
      "GEZDGNBVGY3TQOJ0",
      "GEZDGNBVGY3TQOJ8",
      "GEZD-GNBV",
      "GEZD=GNBV",
      "=MY",
      "A", // impossible lengths: 1, 3 and 6 past a multiple of 8
      "ABC",
      "ABCDEF",
      "ABCDEFGHA",
      "\u0131\u0131\u0131\u0131\u0131\u0131\u0131\u0131", // dotless i, uppercases to I
      "\u017F\u017F\u017F\u017F\u017F\u017F\u017F\u017F", // long s, uppercases to S
      "ＧＥＺＤＧＮＢＶ"
    ]
    for (const s of invalid) {
      expect(base32Decode(s)).toBeUndefined()
    }
    for (const s of [null, undefined, 42, {}]) {
      expect(base32Decode(s as unknown as string)).toBeUndefined()
    }
  })
})
