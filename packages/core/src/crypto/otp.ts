/**
 * One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238) on top of `otpauth`, plus the base32
 * codec (RFC 4648) that authenticator apps use for secrets.
 *
 * The service's own TOTP parameters are those of the common authenticator apps (SPEC 2.4):
 * HMAC-SHA-1, 6 digits, 30 second steps, one step of drift accepted either way.
 *
 * Every function here is total: odd input (wrong types at runtime, non-finite numbers, unicode)
 * gives `undefined` (the empty string for the code generators, `NaN` for {@link totpStep}),
 * never an exception.
 *
 * @since 0.0.0
 */
import { HOTP, Secret } from "otpauth"

/**
 * The HMAC hash functions of RFC 6238.
 * @since 0.0.0
 */
export type HashAlgorithm = "SHA1" | "SHA256" | "SHA512"

/**
 * Parameters of a code: its length (RFC 4226 allows 6 to 8 digits) and the HMAC hash.
 * Both default to the service's: 6 digits, SHA-1.
 * @since 0.0.0
 */
export interface OtpOptions {
  readonly digits?: 6 | 7 | 8
  readonly algorithm?: HashAlgorithm
}

/**
 * {@link OtpOptions} plus the length of a time step in seconds (default 30).
 * @since 0.0.0
 */
export interface TotpOptions extends OtpOptions {
  readonly periodSeconds?: number
}

/**
 * The length of a TOTP time step used by the service, in seconds.
 * @since 0.0.0
 */
export const TOTP_PERIOD_SECONDS = 30

/**
 * The number of digits of the service's TOTP codes.
 * @since 0.0.0
 */
export const TOTP_DIGITS = 6

/**
 * The shortest secret {@link verifyTotp} accepts, in bytes (RFC 4226 R6: at least 128 bits).
 * The service issues 20-byte secrets (160 bits, the RFC's recommendation).
 * @since 0.0.0
 */
export const TOTP_MIN_SECRET_BYTES = 16

/** The widest drift window {@link verifyTotp} accepts: bounds the HMACs one call can cost. */
const MAX_WINDOW = 10

/** Exactly six ASCII digits. (`$` without the `m` flag matches only at the very end in JS.) */
const SIX_ASCII_DIGITS = /^[0-9]{6}$/

const isCounter = (n: number): boolean => Number.isSafeInteger(n) && n >= 0

const isDigits = (n: unknown): n is 6 | 7 | 8 => n === 6 || n === 7 || n === 8

const isAlgorithm = (a: unknown): a is HashAlgorithm => a === "SHA1" || a === "SHA256" || a === "SHA512"

/**
 * An `otpauth` secret holding a private copy of the bytes. The copy matters: a `Uint8Array` may
 * be a view into a larger (pooled) `ArrayBuffer`, and `Secret` takes a whole buffer.
 */
const toSecret = (bytes: Uint8Array): Secret => new Secret({ buffer: bytes.slice().buffer })

/**
 * The TOTP time step (RFC 6238 T, with T0 = 0) that contains the instant `nowMillis`
 * (milliseconds since the Unix epoch). `NaN` when an argument is not a finite number or the
 * period is not positive.
 * @since 0.0.0
 */
export const totpStep = (nowMillis: number, periodSeconds: number = TOTP_PERIOD_SECONDS): number =>
  Number.isFinite(nowMillis) && Number.isFinite(periodSeconds) && periodSeconds > 0
    ? // One division of integers (not `/ 1000 / period`) so step boundaries are exact.
      Math.floor(nowMillis / (periodSeconds * 1000))
    : Number.NaN

/**
 * The HOTP code (RFC 4226) of `secret` at `counter`, zero-padded to `digits`. Used for test
 * vectors, to make codes in tests, and by the TOTP functions.
 *
 * When `counter` is not a non-negative safe integer (or, at runtime, an option is not one of the
 * allowed values) the answer is the empty string: total, and a "code" no verifier accepts.
 * @since 0.0.0
 */
export const hotp = (secret: Uint8Array, counter: number, options: OtpOptions = {}): string => {
  const digits = options.digits ?? TOTP_DIGITS
  const algorithm = options.algorithm ?? "SHA1"
  if (!(secret instanceof Uint8Array) || !isCounter(counter) || !isDigits(digits) || !isAlgorithm(algorithm)) {
    return ""
  }
  return HOTP.generate({ secret: toSecret(secret), counter, digits, algorithm })
}

/**
 * The TOTP code (RFC 6238) of `secret` at the instant `nowMillis` (milliseconds since the Unix
 * epoch). The empty string for an instant before the epoch, a non-finite one, or odd options,
 * as {@link hotp}.
 * @since 0.0.0
 */
export const totpAt = (secret: Uint8Array, nowMillis: number, options: TotpOptions = {}): string => {
  const { periodSeconds, ...otp } = options
  return hotp(secret, totpStep(nowMillis, periodSeconds), otp)
}

/**
 * Checks a 6-digit SHA-1 TOTP code (the service's parameters) at the instant `nowMillis`,
 * accepting the steps T - window .. T + window (default: one step of drift either way, SPEC 2.4).
 *
 * Answers the time step the code matched (the counter to record so that it is never accepted
 * again), or `undefined` when it matches none.
 *
 * - A code that is not exactly six ASCII digits is refused before any HMAC is computed (this also
 *   keeps non-ASCII input away from `otpauth`, whose comparison would throw on it).
 * - A secret shorter than {@link TOTP_MIN_SECRET_BYTES}, an instant before the epoch, or a window
 *   that is not an integer in 0..10 give `undefined`.
 * - Each candidate is compared in constant time (`otpauth` uses `crypto.timingSafeEqual`). The
 *   search stops at the first match (order T, T-1, T+1, T-2, ...), so timing can tell which step
 *   matched a right code, never how close a wrong code is.
 *
 * Never throws.
 * @since 0.0.0
 */
export const verifyTotp = (secret: Uint8Array, code: string, nowMillis: number, window = 1): number | undefined => {
  if (typeof code !== "string" || !SIX_ASCII_DIGITS.test(code)) return undefined
  if (!(secret instanceof Uint8Array) || secret.length < TOTP_MIN_SECRET_BYTES) return undefined
  if (!Number.isSafeInteger(window) || window < 0 || window > MAX_WINDOW) return undefined
  const step = totpStep(nowMillis)
  if (!isCounter(step)) return undefined
  const delta = HOTP.validate({
    token: code,
    secret: toSecret(secret),
    algorithm: "SHA1",
    digits: TOTP_DIGITS,
    counter: step,
    window
  })
  // `validate` answers the step delta, and 0 (a match at T itself) is falsy: compare with null.
  if (delta === null) return undefined
  const matched = step + delta
  // Near the epoch the window would reach below step 0, which is not a valid counter.
  return matched >= 0 ? matched : undefined
}

const BASE32_ALPHABET = /^[A-Za-z2-7]*$/

/**
 * Encodes bytes as RFC 4648 base32: uppercase, without `=` padding (the form authenticator apps
 * and the Key Uri Format expect). 20 bytes give 32 characters.
 * @since 0.0.0
 */
export const base32Encode = (bytes: Uint8Array): string => toSecret(bytes).base32

/**
 * Decodes RFC 4648 base32. Tolerates lowercase, ASCII whitespace (secrets are often shown in
 * groups of four) and trailing `=` padding. `undefined` when anything else is present or the
 * length cannot be that of an encoding (1, 3 or 6 characters past a multiple of 8).
 *
 * Letters are checked before they are uppercased: `toUpperCase` maps some non-ASCII letters to
 * ASCII ones (`"ı"` to `"I"`, `"ſ"` to `"S"`), which must not pass as base32.
 * @since 0.0.0
 */
export const base32Decode = (s: string): Uint8Array | undefined => {
  if (typeof s !== "string") return undefined
  const unpadded = s.replace(/[ \t\r\n]/g, "").replace(/=+$/, "")
  if (!BASE32_ALPHABET.test(unpadded)) return undefined
  const rest = unpadded.length % 8
  if (rest === 1 || rest === 3 || rest === 6) return undefined
  return Secret.fromBase32(unpadded.toUpperCase()).bytes
}
