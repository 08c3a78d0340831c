/**
 * Codes people type (src/crypto/codes.ts) and the sign-in message that carries the mail's code
 * (src/mail/Message.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  formatRecoveryCode,
  isRecoveryCode,
  normalizeCode,
  RECOVERY_ALPHABET,
  randomDigits,
  randomMatchNumbers,
  randomRecoveryCode
} from "../../src/crypto/codes.js"
import { layerSecureRandom, layerSecureRandomDeterministic } from "../../src/crypto/SecureRandom.js"
import { magicLinkMessage, messageCode, messageLinks } from "../../src/mail/Message.js"

describe("recovery codes", () => {
  it.effect("16 characters of the 32 letters (5 bits each: 80 bits), every letter used", () =>
    Effect.gen(function* () {
      const seen = new Set<string>()
      for (let i = 0; i < 400; i++) {
        const code = yield* randomRecoveryCode
        expect(code).toMatch(/^[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{16}$/)
        expect(isRecoveryCode(code)).toBe(true)
        for (const c of code) seen.add(c)
      }
      expect([...seen].sort().join("")).toBe([...RECOVERY_ALPHABET].sort().join(""))
    }).pipe(Effect.provide(layerSecureRandom)))

  it("shown in groups of four; typed with dashes, spaces or lower case, it is the same code", () => {
    expect(formatRecoveryCode("ABCDEFGHJKLMNPQR")).toBe("ABCD-EFGH-JKLM-NPQR")
    for (const typed of ["abcd-efgh-jklm-npqr", " ABCD EFGH JKLM NPQR ", "abcdefgh-jklmnpqr", "ABCD - EFGH\tJKLM-NPQR"]) {
      expect(normalizeCode(typed)).toBe("ABCDEFGHJKLMNPQR")
    }
    for (const bad of ["", "ABCD", "ABCDEFGHJKLMNPQO", "ABCDEFGHJKLMNPQ1", "ABCDEFGHJKLMNPQRS"]) expect(isRecoveryCode(bad)).toBe(false)
  })
})

describe("the mail's code and the handoff's numbers", () => {
  it.effect("digits keep their leading zeros and cover the whole range", () =>
    Effect.gen(function* () {
      const seen = new Set<string>()
      for (let i = 0; i < 2000; i++) {
        const code = yield* randomDigits(2)
        expect(code).toMatch(/^\d{2}$/)
        seen.add(code)
      }
      expect(seen.size).toBe(100)
      expect(yield* randomDigits(10)).toMatch(/^\d{10}$/)
    }).pipe(Effect.provide(layerSecureRandomDeterministic(7))))

  it.effect("three different numbers of 10-99, the match among them at any place", () =>
    Effect.gen(function* () {
      const places = new Set<number>()
      for (let i = 0; i < 300; i++) {
        const { choices, matchNumber } = yield* randomMatchNumbers
        expect(choices).toHaveLength(3)
        expect(new Set(choices).size).toBe(3)
        for (const n of choices) expect(n >= 10 && n <= 99 && Number.isInteger(n)).toBe(true)
        places.add(choices.indexOf(matchNumber))
      }
      expect([...places].sort()).toEqual([0, 1, 2])
    }).pipe(Effect.provide(layerSecureRandomDeterministic(11))))

  it("the sign-in message carries the link and the code in both bodies; a handoff's asks to pick the number", () => {
    const base = { to: "a@example.com", link: "https://app.example.com/login/TOKEN", tenantName: "Acme <&>", lifetimeMinutes: 10 }
    const withCode = magicLinkMessage({ ...base, code: "012345" })
    expect(messageLinks(withCode)).toEqual([base.link])
    expect(messageCode(withCode)).toBe("012345")
    expect(withCode.html).toContain("012345")
    expect(withCode.html).toContain("Acme &lt;&amp;&gt;")
    expect(withCode.text).toContain("work once, together")
    const handoff = magicLinkMessage({ ...base, code: "012345", handoff: true })
    expect(handoff.text).toContain("pick the number that device shows")
    expect(handoff.text).toContain("on the device that is waiting")
    const plain = magicLinkMessage(base)
    expect(messageCode(plain)).toBeUndefined()
    expect(plain.text).not.toMatch(/code/i)
    expect(plain.html).not.toMatch(/code/i)
  })
})
