/**
 * Bearer secrets (magic-link tokens, access tokens): their text form, the hash that storage keeps,
 * and constant-time comparison (SPEC 3.1, 3.2).
 *
 * @since 0.0.0
 */
import { createHash, hash, timingSafeEqual } from "node:crypto"

/**
 * Writes random bytes as unpadded base64url (RFC 4648 §5), safe in URLs and paths:
 * 32 bytes (256 bits, SPEC 3.1) give 43 characters.
 * @since 0.0.0
 */
export const encodeToken = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url")

const sha256 = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest()

/**
 * The SHA-256 of a token (of its UTF-8 text), as unpadded base64url (43 characters): what storage
 * keeps instead of the token, and what a presented token is looked up by.
 * @since 0.0.0
 */
export const hashToken = (token: string): string =>
  // One-shot `crypto.hash` (Node 20.12): 230 ns against 630 ns for createHash().update().digest()
  // here; it runs for every authenticated request.
  hash("sha256", token, "base64url")

/**
 * Compares two secrets in constant time. Both are hashed with SHA-256 first and the digests are
 * compared with `crypto.timingSafeEqual`, so strings of different lengths answer `false` without
 * throwing, and the time taken does not depend on where (or whether) the inputs differ. (Hashing
 * takes time in proportion to the inputs' lengths; the lengths of secrets are not secret here.)
 * @since 0.0.0
 */
export const constantTimeEqual = (a: string, b: string): boolean => timingSafeEqual(sha256(a), sha256(b))

/**
 * 43 base64url characters whose last one carries no stray bits: exactly the form
 * {@link encodeToken} gives 32 bytes (the last character encodes 4 data bits and 2 zero bits).
 */
const WELL_FORMED_TOKEN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/

/**
 * Whether `s` can be a token made by {@link encodeToken} from 32 bytes, so that anything else is
 * refused before any lookup. Never throws, whatever `s` is at runtime.
 * @since 0.0.0
 */
export const isWellFormedToken = (s: string): boolean => typeof s === "string" && WELL_FORMED_TOKEN.test(s)
