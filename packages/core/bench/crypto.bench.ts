/**
 * Micro-benchmarks of the hot crypto paths. Not part of the test run; run with
 * `npx vitest bench --run bench/crypto.bench.ts` from packages/core.
 */
import { Effect } from "effect"
import { bench, describe } from "vitest"
import { base32Decode, hotp, totpStep, verifyTotp } from "../src/crypto/otp.js"
import { makeSealer } from "../src/crypto/Sealer.js"
import { constantTimeEqual, encodeToken, hashToken } from "../src/crypto/tokens.js"

const secret = new TextEncoder().encode("12345678901234567890")
const now = Date.UTC(2026, 0, 1) + 10_000
const T = totpStep(now)
const codeAtT = hotp(secret, T)
const codeAtTPlus1 = hotp(secret, T + 1)
const wrongCode = codeAtT === "000000" ? "000001" : "000000"

describe("verifyTotp", () => {
  bench("right code at T (1 HMAC)", () => {
    verifyTotp(secret, codeAtT, now)
  })
  bench("right code at T+1 (3 HMACs)", () => {
    verifyTotp(secret, codeAtTPlus1, now)
  })
  bench("wrong code (3 HMACs)", () => {
    verifyTotp(secret, wrongCode, now)
  })
  bench("malformed code (no HMAC)", () => {
    verifyTotp(secret, "12345a", now)
  })
})

const token = encodeToken(new Uint8Array(32).fill(42))
const tokenHash = hashToken(token)

describe("tokens", () => {
  bench("hashToken", () => {
    hashToken(token)
  })
  bench("constantTimeEqual (hashes both)", () => {
    constantTimeEqual(tokenHash, tokenHash)
  })
})

const sealer = Effect.runSync(makeSealer({ activeKeyId: "k1", keys: { k1: new Uint8Array(32).fill(7) } }))
const context = "totp/tenant/alice"
const plaintext = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
const sealed = Effect.runSync(sealer.seal(plaintext, context))

describe("Sealer", () => {
  bench("seal", () => {
    Effect.runSync(sealer.seal(plaintext, context))
  })
  bench("open", () => {
    Effect.runSync(sealer.open(sealed, context))
  })
  bench("open + base32Decode + verifyTotp (one TOTP check's crypto)", () => {
    const opened = base32Decode(Effect.runSync(sealer.open(sealed, context)))
    if (opened !== undefined) verifyTotp(opened, codeAtT, now)
  })
})
