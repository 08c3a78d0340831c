/**
 * Sealing of secrets at rest with AES-256-GCM under a keyring, so that keys can rotate without
 * losing what was sealed before (SPEC 3.2, checklist 12).
 *
 * A sealed value is compact ASCII: `v1.<keyId>.<iv>.<ciphertext+tag>`, the last two in unpadded
 * base64url (a 12-byte random IV, a 16-byte tag). The associated data binds a value to the row
 * that holds it (e.g. `totp/<tenantId>/<userId>`): a sealed value copied to another row does not
 * open. The version and key id are authenticated too. Anything wrong fails closed.
 *
 * @since 0.0.0
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomBytes } from "node:crypto"
import type { KeyObject } from "node:crypto"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"

/**
 * Encryption keys by id, and the id of the one that seals. Every key is exactly 32 bytes; ids are
 * 1-32 characters of `A-Z a-z 0-9 _ -`. Keys that are no longer active stay to open old values.
 * @since 0.0.0
 */
export interface Keyring {
  readonly activeKeyId: string
  readonly keys: Readonly<Record<string, Uint8Array>>
}

/**
 * A keyring that cannot be used: a key of the wrong length, a malformed id, a missing active key,
 * or an unreadable configuration string. The message never contains key material.
 * @since 0.0.0
 */
export class KeyringError extends Data.TaggedError("KeyringError")<{ readonly message: string }> {}

/**
 * Why a sealed value did not open.
 * - `BadFormat`: not a `v1.<keyId>.<iv>.<data>` value of the right sizes.
 * - `UnknownKey`: sealed under a key that is not in the keyring.
 * - `Tampered`: authentication failed (changed bytes, wrong key, or other associated data).
 * @since 0.0.0
 */
export type SealFailure = "BadFormat" | "UnknownKey" | "Tampered"

/**
 * A sealed value did not open. The message never contains the value or the associated data.
 * @since 0.0.0
 */
export class SealError extends Data.TaggedError("SealError")<{
  readonly reason: SealFailure
  readonly message: string
}> {}

/**
 * The operations of the {@link Sealer} service.
 * @since 0.0.0
 */
export interface SealerService {
  /** The id of the key that new values are sealed under. */
  readonly activeKeyId: string
  /** Encrypts `plaintext` under the active key, bound to `associatedData`. */
  readonly seal: (plaintext: string, associatedData: string) => Effect.Effect<string>
  /** Decrypts a sealed value; fails with {@link SealError} unless it is intact and bound to `associatedData`. */
  readonly open: (sealed: string, associatedData: string) => Effect.Effect<string, SealError>
  /** Whether `sealed` names a key other than the active one, so the caller should re-seal it after opening. */
  readonly needsResealing: (sealed: string) => boolean
  /**
   * HMAC-SHA-256 of `data` (unpadded base64url) under a key derived with HKDF-SHA-256 from the
   * keyring's key `keyId` (default: the active one), for codes too short to store as a plain hash
   * (recovery codes, e-mail codes): without the encryption key, a copy of the database cannot
   * test guesses. The answer names the key id, which the caller keeps beside the hash so that it
   * can be checked again after a rotation, for as long as that key stays in the keyring. Fails
   * with `UnknownKey` when the keyring has no key `keyId`.
   */
  readonly keyedHash: (data: string, keyId?: string) => Effect.Effect<KeyedHash, SealError>
}

/**
 * A keyed hash and the id of the keyring key it was derived from.
 * @since 0.0.0
 */
export interface KeyedHash {
  readonly keyId: string
  readonly hash: string
}

/** HKDF's `info` for the keys of {@link SealerService.keyedHash}: no key of anything else. */
const KEYED_HASH_INFO = "lagrello/keyed-hash/v1"

const VERSION = "v1"
const ALGORITHM = "aes-256-gcm"
const KEY_BYTES = 32
const IV_BYTES = 12
const TAG_BYTES = 16
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/
const BASE64URL = /^[A-Za-z0-9_-]*$/

/**
 * The additional authenticated data: the header as well as the caller's data, so that changing
 * the version or key id also fails. Unambiguous, since neither the version nor a key id holds `.`.
 */
const aad = (keyId: string, associatedData: string): Buffer =>
  Buffer.from(`${VERSION}.${keyId}.${associatedData}`, "utf8")

/**
 * Decodes strict base64url: only its alphabet, and only the canonical text of the bytes (Node's
 * decoder ignores stray characters and spare low bits, which would let a changed text open).
 */
const decodeBase64url = (s: string): Buffer | undefined => {
  if (!BASE64URL.test(s)) return undefined
  const bytes = Buffer.from(s, "base64url")
  return bytes.toString("base64url") === s ? bytes : undefined
}

/**
 * The key id a sealed value names, or `undefined` when it does not look like a `v1` value.
 * @since 0.0.0
 */
export const sealedKeyId = (sealed: string): string | undefined => {
  if (typeof sealed !== "string") return undefined
  const parts = sealed.split(".")
  return parts.length === 4 && parts[0] === VERSION && KEY_ID.test(parts[1]!) ? parts[1] : undefined
}

/**
 * Checks a keyring: at least one key, every id well formed, every key exactly 32 bytes, and the
 * active id among them.
 * @since 0.0.0
 */
export const validateKeyring = (keyring: Keyring): Either.Either<Keyring, KeyringError> => {
  const fail = (message: string) => Either.left(new KeyringError({ message }))
  const entries = Object.entries(keyring.keys)
  if (entries.length === 0) return fail("The keyring holds no key")
  for (const [id, key] of entries) {
    if (!KEY_ID.test(id)) {
      return fail(`A key id is not valid: use 1-32 characters of A-Z, a-z, 0-9, "_" and "-"`)
    }
    if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
      const length = key instanceof Uint8Array ? `${key.length} bytes` : "not bytes"
      return fail(`Key "${id}" must be exactly ${KEY_BYTES} bytes (AES-256), but it is ${length}`)
    }
  }
  if (!Object.hasOwn(keyring.keys, keyring.activeKeyId)) {
    return fail(`The active key "${keyring.activeKeyId}" is not in the keyring`)
  }
  return Either.right(keyring)
}

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}$/

const parseKey = (id: string, text: string): Either.Either<Uint8Array, KeyringError> => {
  if (!STANDARD_BASE64.test(text)) {
    return Either.left(new KeyringError({ message: `Key "${id}" is not base64` }))
  }
  const key = new Uint8Array(Buffer.from(text, "base64"))
  return key.length === KEY_BYTES
    ? Either.right(key)
    : Either.left(
        new KeyringError({
          message: `Key "${id}" must be the base64 of exactly ${KEY_BYTES} bytes (AES-256), but it holds ${key.length} bytes`
        })
      )
}

/**
 * Reads a keyring from configuration (e.g. `LAGRELLO_ENCRYPTION_KEY`):
 * - one plain base64 key: the keyring `{ k1 }`, active `k1`;
 * - or `id:base64` entries separated by commas, the first one active: `"k2:BASE64,k1:BASE64"`
 *   (rotation: put the new key first and keep the old ones after it).
 *
 * Base64 may be standard or URL-safe, padded or not; spaces around entries are ignored. The error
 * says what is wrong without repeating any key material.
 * @since 0.0.0
 */
export const parseKeyring = (spec: string): Either.Either<Keyring, KeyringError> => {
  const trimmed = typeof spec === "string" ? spec.trim() : ""
  if (trimmed === "") return Either.left(new KeyringError({ message: "The encryption key is empty" }))
  if (!trimmed.includes(":")) {
    return Either.flatMap(parseKey("k1", trimmed), (key) => validateKeyring({ activeKeyId: "k1", keys: { k1: key } }))
  }
  // Entries, then Object.fromEntries: assigning `keys[id]` would treat an id "__proto__" specially.
  const entries: Array<[string, Uint8Array]> = []
  for (const [index, entry] of trimmed.split(",").entries()) {
    const separator = entry.indexOf(":")
    if (separator < 0) {
      return Either.left(new KeyringError({ message: `Entry ${index + 1} of the keyring is not "id:base64"` }))
    }
    const id = entry.slice(0, separator).trim()
    if (!KEY_ID.test(id)) {
      return Either.left(
        new KeyringError({
          message: `Entry ${index + 1} of the keyring has no valid key id: use 1-32 characters of A-Z, a-z, 0-9, "_" and "-"`
        })
      )
    }
    if (entries.some(([seen]) => seen === id)) {
      return Either.left(new KeyringError({ message: `Key id "${id}" appears twice in the keyring` }))
    }
    const key = parseKey(id, entry.slice(separator + 1).trim())
    if (Either.isLeft(key)) return Either.left(key.left)
    entries.push([id, key.right])
  }
  return validateKeyring({ activeKeyId: entries[0]![0], keys: Object.fromEntries(entries) })
}

/**
 * Builds the sealer of a keyring, failing with {@link KeyringError} when it is not valid. The keys
 * are copied into `KeyObject`s, so later changes to the given arrays do not affect it.
 * @since 0.0.0
 */
export const makeSealer = (keyring: Keyring): Effect.Effect<SealerService, KeyringError> =>
  Effect.map(validateKeyring(keyring), ({ activeKeyId, keys }): SealerService => {
    // A Map (not the record) so that ids like "constructor" never reach Object.prototype.
    const keyObjects = new Map<string, KeyObject>(
      Object.entries(keys).map(([id, key]) => [id, createSecretKey(Buffer.from(key))])
    )
    const activeKey = keyObjects.get(activeKeyId)!
    // Derived once per key; the AES keys themselves never key an HMAC.
    const hashKeys = new Map<string, KeyObject>(
      Object.entries(keys).map(([id, key]) => [
        id,
        createSecretKey(Buffer.from(hkdfSync("sha256", Buffer.from(key), Buffer.alloc(0), KEYED_HASH_INFO, KEY_BYTES)))
      ])
    )
    const bad = (reason: SealFailure, message: string) => Effect.fail(new SealError({ reason, message }))

    const seal = (plaintext: string, associatedData: string): Effect.Effect<string> =>
      Effect.sync(() => {
        const iv = randomBytes(IV_BYTES)
        const cipher = createCipheriv(ALGORITHM, activeKey, iv, { authTagLength: TAG_BYTES })
        cipher.setAAD(aad(activeKeyId, associatedData))
        const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()])
        return `${VERSION}.${activeKeyId}.${iv.toString("base64url")}.${data.toString("base64url")}`
      })

    const open = (sealed: string, associatedData: string): Effect.Effect<string, SealError> => {
      if (typeof sealed !== "string" || typeof associatedData !== "string") {
        return bad("BadFormat", "The sealed value is not a string")
      }
      const parts = sealed.split(".")
      if (parts.length !== 4) return bad("BadFormat", "The sealed value is not of the form v1.<keyId>.<iv>.<data>")
      const [version, keyId, ivText, dataText] = parts as [string, string, string, string]
      if (version !== VERSION) return bad("BadFormat", "The sealed value has an unknown format version")
      const key = KEY_ID.test(keyId) ? keyObjects.get(keyId) : undefined
      if (key === undefined) {
        return bad("UnknownKey", `The sealed value names a key that is not in the keyring`)
      }
      const iv = decodeBase64url(ivText)
      const data = decodeBase64url(dataText)
      if (iv === undefined || iv.length !== IV_BYTES || data === undefined || data.length < TAG_BYTES) {
        return bad("BadFormat", "The sealed value's IV or data is malformed")
      }
      return Effect.try({
        try: () => {
          const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES })
          decipher.setAAD(aad(keyId, associatedData))
          decipher.setAuthTag(data.subarray(data.length - TAG_BYTES))
          const plain = Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()])
          return plain.toString("utf8")
        },
        catch: () =>
          new SealError({
            reason: "Tampered",
            message: "The sealed value did not authenticate: it was changed, or belongs to another record"
          })
      })
    }

    const needsResealing = (sealed: string): boolean => {
      const keyId = sealedKeyId(sealed)
      return keyId !== undefined && keyId !== activeKeyId
    }

    const keyedHash = (data: string, keyId: string = activeKeyId): Effect.Effect<KeyedHash, SealError> => {
      const key = typeof keyId === "string" && KEY_ID.test(keyId) ? hashKeys.get(keyId) : undefined
      if (key === undefined) return bad("UnknownKey", "The keyed hash names a key that is not in the keyring")
      return Effect.sync(() => ({ keyId, hash: createHmac("sha256", key).update(data, "utf8").digest("base64url") }))
    }

    return { activeKeyId, seal, open, needsResealing, keyedHash }
  })

/**
 * Seals and opens secrets at rest (TOTP secrets, outbox messages) with AES-256-GCM.
 * @since 0.0.0
 * @category tags
 */
export class Sealer extends Context.Tag("@lagrello/core/Sealer")<Sealer, SealerService>() {}

/**
 * The sealer of a keyring; building it fails with {@link KeyringError} when the keyring is not
 * valid (see {@link validateKeyring}).
 * @since 0.0.0
 * @category layers
 */
export const layerSealer = (keyring: Keyring): Layer.Layer<Sealer, KeyringError> => Layer.effect(Sealer, makeSealer(keyring))
