/**
 * Codes people read and type (SPEC 5): recovery codes, the code of a sign-in mail, the numbers of
 * a handoff. All drawn from {@link SecureRandom} without bias (rejection sampling).
 *
 * @since 0.0.0
 */
import * as Effect from "effect/Effect"
import { SecureRandom } from "./SecureRandom.js"

/**
 * The 32 letters of recovery codes: digits and capitals without the look-alikes 0/O and 1/I, so
 * each character carries 5 bits and none can be misread as another.
 * @since 0.0.0
 */
export const RECOVERY_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

/** Characters in a recovery code (16 x 5 = 80 bits). @since 0.0.0 */
export const RECOVERY_CODE_LENGTH = 16

/**
 * A recovery code as it is stored and compared: without spaces and dashes, in capitals (so that
 * `abcd-efgh ...`, `ABCDEFGH...` and `abcd efgh ...` are the same code).
 * @since 0.0.0
 */
export const normalizeCode = (typed: string): string => typed.replace(/[\s-]+/g, "").toUpperCase()

/** `xxxx-xxxx-xxxx-xxxx`, as shown to the user. @since 0.0.0 */
export const formatRecoveryCode = (code: string): string => (code.match(/.{1,4}/g) ?? []).join("-")

/** Whether a normalized text is a recovery code at all (16 letters of the alphabet). @since 0.0.0 */
export const isRecoveryCode = (code: string): boolean =>
  code.length === RECOVERY_CODE_LENGTH && [...code].every((c) => RECOVERY_ALPHABET.includes(c))

/** 16 characters from 10 random bytes, 5 bits each. */
const encodeRecovery = (bytes: Uint8Array): string => {
  let out = ""
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += RECOVERY_ALPHABET[(buffer >>> (bits - 5)) & 31]
      bits -= 5
    }
    buffer &= (1 << bits) - 1
  }
  return out
}

/**
 * A new recovery code of 80 random bits, normalized (16 characters, no dashes).
 * @since 0.0.0
 */
export const randomRecoveryCode: Effect.Effect<string, never, SecureRandom> = Effect.flatMap(
  SecureRandom,
  (random) => Effect.map(random.bytes(10), encodeRecovery)
)

/** A uniform whole number in [0, n), n <= 2^48, from 6 random bytes at a time. */
const uniformBelow = (n: number): Effect.Effect<number, never, SecureRandom> =>
  Effect.flatMap(SecureRandom, (random) => {
    const range = 2 ** 48
    const limit = range - (range % n)
    const draw: Effect.Effect<number> = Effect.flatMap(random.bytes(6), (bytes) => {
      const value = bytes.reduce((acc, byte) => acc * 256 + byte, 0)
      return value < limit ? Effect.succeed(value % n) : draw
    })
    return draw
  })

/**
 * A code of `length` decimal digits (leading zeros kept), each value equally likely.
 * @since 0.0.0
 */
export const randomDigits = (length: number): Effect.Effect<string, never, SecureRandom> =>
  Effect.map(uniformBelow(10 ** length), (n) => String(n).padStart(length, "0"))

/**
 * A handoff's number (10-99, so always two digits) and the three choices to offer: it and two
 * other numbers, all different, in random order.
 * @since 0.0.0
 */
export const randomMatchNumbers: Effect.Effect<
  { readonly matchNumber: number; readonly choices: ReadonlyArray<number> },
  never,
  SecureRandom
> = Effect.gen(function* () {
  const picked: Array<number> = []
  while (picked.length < 3) {
    const n = 10 + (yield* uniformBelow(90))
    if (!picked.includes(n)) picked.push(n)
  }
  const matchNumber = picked[0]!
  // Fisher-Yates: where the match sits among the choices says nothing.
  const choices = [...picked]
  for (let i = choices.length - 1; i > 0; i--) {
    const j = yield* uniformBelow(i + 1)
    ;[choices[i], choices[j]] = [choices[j]!, choices[i]!]
  }
  return { matchNumber, choices }
})
