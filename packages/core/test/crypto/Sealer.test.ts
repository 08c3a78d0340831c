/**
 * Sealing of secrets at rest (src/crypto/Sealer.ts): round trip, tampering, rotation, keyrings.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit } from "effect"
import {
  parseKeyring,
  type Keyring,
  layerSealer,
  makeSealer,
  sealedKeyId,
  Sealer,
  type SealerService,
  validateKeyring
} from "../../src/crypto/Sealer.js"

const key = (fill: number) => new Uint8Array(32).fill(fill)
const k1 = key(1)
const k2 = key(2)
const ring1: Keyring = { activeKeyId: "k1", keys: { k1 } }
const ring2: Keyring = { activeKeyId: "k2", keys: { k2, k1 } }

const sealerOf = (keyring: Keyring) => Effect.runSync(makeSealer(keyring))
const context = "totp/tenant-1/alice"
const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

/** The reason of a failed open, or "ok". */
const openReason = (sealer: SealerService, sealed: string, associatedData = context) =>
  Effect.runSync(
    sealer.open(sealed, associatedData).pipe(
      Effect.map(() => "ok"),
      Effect.catchTag("SealError", (e) => Effect.succeed(e.reason))
    )
  )

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")

describe("Sealer", () => {
  it.effect("round-trips through the service layer", () =>
    Effect.gen(function* () {
      const sealer = yield* Sealer
      for (const plaintext of [secret, "", "ünïcödé ✓ 😀", "x".repeat(10_000)]) {
        const sealed = yield* sealer.seal(plaintext, context)
        expect(yield* sealer.open(sealed, context)).toBe(plaintext)
      }
    }).pipe(Effect.provide(layerSealer(ring1)))
  )

  it.effect("writes v1.<keyId>.<iv>.<ciphertext+tag> in ASCII, with a fresh IV each time", () =>
    Effect.gen(function* () {
      const sealer = sealerOf(ring1)
      const a = yield* sealer.seal(secret, context)
      const b = yield* sealer.seal(secret, context)
      expect(a).not.toBe(b)
      const [version, keyId, iv, data, ...rest] = a.split(".")
      expect([version, keyId, rest]).toEqual(["v1", "k1", []])
      expect(Buffer.from(iv!, "base64url")).toHaveLength(12)
      expect(iv).toMatch(/^[A-Za-z0-9_-]{16}$/)
      // The ciphertext is as long as the UTF-8 plaintext, then a 16-byte tag.
      expect(Buffer.from(data!, "base64url")).toHaveLength(secret.length + 16)
      expect(data).toMatch(/^[A-Za-z0-9_-]+$/)
      expect(a).not.toContain(secret)
      expect(sealedKeyId(a)).toBe("k1")
    })
  )

  it.effect("opens only with the same associated data (a value copied to another row fails)", () =>
    Effect.gen(function* () {
      const sealer = sealerOf(ring1)
      const sealed = yield* sealer.seal(secret, context)
      for (const other of ["totp/tenant-1/bob", "totp/tenant-2/alice", "", `${context} `, context.toUpperCase()]) {
        expect(openReason(sealer, sealed, other)).toBe("Tampered")
      }
      const error = yield* Effect.flip(sealer.open(sealed, "totp/tenant-1/bob"))
      expect(error._tag).toBe("SealError")
      expect(error.message).not.toContain(context)
      expect(error.message).not.toContain(sealed)
    })
  )

  it.effect("fails closed when any byte of the IV, ciphertext or tag changes", () =>
    Effect.gen(function* () {
      const sealer = sealerOf(ring1)
      const sealed = yield* sealer.seal(secret, context)
      const [version, keyId, ivText, dataText] = sealed.split(".") as [string, string, string, string]
      const iv = Buffer.from(ivText, "base64url")
      const data = Buffer.from(dataText, "base64url")
      const flip = (bytes: Buffer, index: number) => {
        const copy = Buffer.from(bytes)
        copy[index] = copy[index]! ^ 0x01
        return copy.toString("base64url")
      }
      for (let i = 0; i < iv.length; i++) {
        expect(openReason(sealer, `${version}.${keyId}.${flip(iv, i)}.${dataText}`)).toBe("Tampered")
      }
      // Every byte of the ciphertext and of the tag (its last 16 bytes).
      for (let i = 0; i < data.length; i++) {
        expect(openReason(sealer, `${version}.${keyId}.${ivText}.${flip(data, i)}`)).toBe("Tampered")
      }
      // Truncated or extended data, a missing tag.
      expect(openReason(sealer, `${version}.${keyId}.${ivText}.${data.subarray(0, -1).toString("base64url")}`)).toBe(
        "Tampered"
      )
      expect(
        openReason(sealer, `${version}.${keyId}.${ivText}.${Buffer.concat([data, Buffer.of(0)]).toString("base64url")}`)
      ).toBe("Tampered")
      expect(openReason(sealer, `${version}.${keyId}.${ivText}.${data.subarray(0, 15).toString("base64url")}`)).toBe(
        "BadFormat"
      )
    })
  )

  it.effect("fails closed when the version or key id changes", () =>
    Effect.gen(function* () {
      const sealer = sealerOf(ring2)
      const sealed = yield* sealer.seal(secret, context) // under k2
      const [, , ivText, dataText] = sealed.split(".")
      expect(openReason(sealer, `v2.k2.${ivText}.${dataText}`)).toBe("BadFormat")
      expect(openReason(sealer, `V1.k2.${ivText}.${dataText}`)).toBe("BadFormat")
      // Another key of the keyring: authenticated data and key both differ.
      expect(openReason(sealer, `v1.k1.${ivText}.${dataText}`)).toBe("Tampered")
      // A key id that is not in the keyring.
      expect(openReason(sealer, `v1.k3.${ivText}.${dataText}`)).toBe("UnknownKey")
      expect(openReason(sealer, `v1.constructor.${ivText}.${dataText}`)).toBe("UnknownKey")
      expect(openReason(sealer, `v1.__proto__.${ivText}.${dataText}`)).toBe("UnknownKey")
    })
  )

  it("refuses malformed values as BadFormat, without throwing", () => {
    const sealer = sealerOf(ring1)
    const sealed = Effect.runSync(sealer.seal(secret, context))
    const [version, keyId, ivText, dataText] = sealed.split(".") as [string, string, string, string]
    const malformed = [
      "",
      "v1",
      "v1.k1",
      `v1.k1.${ivText}`,
      `${sealed}.`,
      `${sealed}.extra`,
      `${version}.${keyId}.${ivText}.${dataText}=`,
      `${version}.${keyId}.${ivText}=.${dataText}`,
      `${version}.${keyId}.${ivText.slice(0, -2)}.${dataText}`,
      `${version}.${keyId}.${ivText}AAAA.${dataText}`,
      `${version}.${keyId}.${ivText.slice(0, -1)}+.${dataText}`,
      `${version}.${keyId}.${ivText}.${dataText.slice(0, -1)}!`,
      `${version}.${keyId}.${ivText}.`,
      secret
    ]
    for (const value of malformed) expect(openReason(sealer, value)).toBe("BadFormat")
    expect(openReason(sealer, null as unknown as string)).toBe("BadFormat")
    expect(openReason(sealer, sealed, 42 as unknown as string)).toBe("BadFormat")
  })

  it("refuses a non-canonical base64url text whose spare bits differ (it would decode to the same bytes)", () => {
    const sealer = sealerOf(ring1)
    // 32 plaintext bytes + 16 tag bytes = 48 bytes: 64 characters, no spare bits; use 33 bytes.
    const sealed = Effect.runSync(sealer.seal("x".repeat(33), context))
    const [version, keyId, ivText, dataText] = sealed.split(".") as [string, string, string, string]
    // 49 bytes = 65 characters + 2 bits: the last character carries 2 data bits and 4 spare bits.
    expect(dataText).toHaveLength(66)
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    const last = alphabet.indexOf(dataText.at(-1)!)
    const alias = alphabet[last ^ 0b0001]!
    const aliased = `${dataText.slice(0, -1)}${alias}`
    expect(Buffer.from(aliased, "base64url")).toEqual(Buffer.from(dataText, "base64url"))
    expect(openReason(sealer, `${version}.${keyId}.${ivText}.${aliased}`)).toBe("BadFormat")
  })

  it.effect("a value sealed under another key of the same id does not open", () =>
    Effect.gen(function* () {
      const sealed = yield* sealerOf(ring1).seal(secret, context)
      expect(openReason(sealerOf({ activeKeyId: "k1", keys: { k1: key(9) } }), sealed)).toBe("Tampered")
    })
  )

  it.effect("rotation: values sealed under k1 open under {active k2, k1}, and need resealing", () =>
    Effect.gen(function* () {
      const old = sealerOf(ring1)
      const rotated = sealerOf(ring2)
      const sealed = yield* old.seal(secret, context)
      expect(old.needsResealing(sealed)).toBe(false)
      expect(rotated.needsResealing(sealed)).toBe(true)
      expect(yield* rotated.open(sealed, context)).toBe(secret)
      const resealed = yield* rotated.seal(secret, context)
      expect(sealedKeyId(resealed)).toBe("k2")
      expect(rotated.needsResealing(resealed)).toBe(false)
      expect(yield* rotated.open(resealed, context)).toBe(secret)
      // The old keyring does not know k2.
      expect(openReason(old, resealed)).toBe("UnknownKey")
      expect(old.needsResealing(resealed)).toBe(true)
      // Malformed values are not "to be resealed": they cannot be opened at all.
      expect(rotated.needsResealing("garbage")).toBe(false)
      expect(rotated.activeKeyId).toBe("k2")
    })
  )

  it.effect("keeps its own copy of the keys", () =>
    Effect.gen(function* () {
      const mutable = key(5)
      const sealer = sealerOf({ activeKeyId: "m", keys: { m: mutable } })
      const sealed = yield* sealer.seal(secret, context)
      mutable.fill(6)
      expect(yield* sealer.open(sealed, context)).toBe(secret)
    })
  )
})

describe("keyed hashes", () => {
  it.effect("HMAC-SHA-256 under a key derived (HKDF) from the keyring key, named by its id", () =>
    Effect.gen(function* () {
      const { createHmac, hkdfSync } = yield* Effect.promise(() => import("node:crypto"))
      const sealer = sealerOf(ring2)
      const active = yield* sealer.keyedHash("recovery\u0000alice\u0000ABCD")
      expect(active.keyId).toBe("k2")
      // Recomputed independently: HKDF-SHA-256(k2, no salt, the label) keys the HMAC.
      const derived = Buffer.from(hkdfSync("sha256", k2, Buffer.alloc(0), "lagrello/keyed-hash/v1", 32))
      expect(active.hash).toBe(createHmac("sha256", derived).update("recovery\u0000alice\u0000ABCD").digest("base64url"))
      // Not the HMAC under the AES key itself, nor under another key of the ring.
      expect(active.hash).not.toBe(createHmac("sha256", k2).update("recovery\u0000alice\u0000ABCD").digest("base64url"))
      const older = yield* sealer.keyedHash("recovery\u0000alice\u0000ABCD", "k1")
      expect(older.keyId).toBe("k1")
      expect(older.hash).not.toBe(active.hash)
      // After a rotation, the hash under the old key id is the same as before it.
      expect((yield* sealerOf(ring1).keyedHash("recovery\u0000alice\u0000ABCD")).hash).toBe(older.hash)
    })
  )

  it.effect("a key id the keyring does not hold fails as UnknownKey, naming no key material", () =>
    Effect.gen(function* () {
      for (const keyId of ["k3", "__proto__", "constructor", "", "x".repeat(40)]) {
        const error = yield* Effect.flip(sealerOf(ring1).keyedHash("data", keyId))
        expect(error.reason).toBe("UnknownKey")
      }
    })
  )
})

describe("keyrings", () => {
  it.effect("Sealer.layer fails with a clear KeyringError for a key that is not 32 bytes", () =>
    Effect.gen(function* () {
      for (const length of [0, 16, 31, 33, 64]) {
        const error = yield* Effect.flip(
          Effect.provide(Sealer, layerSealer({ activeKeyId: "k1", keys: { k1: new Uint8Array(length) } }))
        )
        expect(error._tag).toBe("KeyringError")
        expect(error.message).toBe(`Key "k1" must be exactly 32 bytes (AES-256), but it is ${length} bytes`)
      }
    })
  )

  it("validateKeyring refuses a missing active key, malformed ids and an empty keyring", () => {
    const message = (keyring: Keyring) =>
      Either.match(validateKeyring(keyring), { onLeft: (e) => e.message, onRight: () => "ok" })
    expect(message(ring2)).toBe("ok")
    expect(message({ activeKeyId: "k3", keys: { k1 } })).toBe('The active key "k3" is not in the keyring')
    expect(message({ activeKeyId: "k1", keys: {} })).toBe("The keyring holds no key")
    expect(message({ activeKeyId: "a.b", keys: { "a.b": k1 } })).toMatch(/^A key id is not valid/)
    expect(message({ activeKeyId: "", keys: { "": k1 } })).toMatch(/^A key id is not valid/)
    expect(message({ activeKeyId: "k1", keys: { k1: "x".repeat(32) as unknown as Uint8Array } })).toBe(
      'Key "k1" must be exactly 32 bytes (AES-256), but it is not bytes'
    )
    // Only the ring's own keys count.
    expect(message({ activeKeyId: "toString", keys: { k1 } })).toBe('The active key "toString" is not in the keyring')
  })

  it("parseKeyring reads one plain base64 key as k1", () => {
    const parsed = Either.getOrThrow(parseKeyring(` ${b64(k1)} `))
    expect(parsed.activeKeyId).toBe("k1")
    expect(Object.keys(parsed.keys)).toEqual(["k1"])
    expect(parsed.keys.k1).toEqual(k1)
    // URL-safe and unpadded base64 too.
    const urlSafe = Either.getOrThrow(parseKeyring(Buffer.from(key(0xfb)).toString("base64url")))
    expect(urlSafe.keys.k1).toEqual(key(0xfb))
  })

  it("parseKeyring reads id:base64 entries, the first one active", () => {
    const parsed = Either.getOrThrow(parseKeyring(`k2:${b64(k2)}, k1:${b64(k1)}`))
    expect(parsed.activeKeyId).toBe("k2")
    expect(parsed.keys).toEqual({ k2, k1 })
    // The parsed keyring works with the rotation above.
    const sealed = Effect.runSync(sealerOf(ring1).seal(secret, context))
    expect(Effect.runSync(sealerOf(parsed).open(sealed, context))).toBe(secret)
    // An id that is special on plain objects is an ordinary id here.
    const proto = Either.getOrThrow(parseKeyring(`__proto__:${b64(k1)}`))
    expect(proto.activeKeyId).toBe("__proto__")
    expect(Object.hasOwn(proto.keys, "__proto__")).toBe(true)
    const protoSealer = sealerOf(proto)
    expect(Effect.runSync(protoSealer.open(Effect.runSync(protoSealer.seal("x", "y")), "y"))).toBe("x")
  })

  it("parseKeyring says what is wrong, without repeating key material", () => {
    const short = b64(new Uint8Array(31).fill(0x41))
    const long = b64(new Uint8Array(33).fill(0x42))
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["", "The encryption key is empty"],
      ["   ", "The encryption key is empty"],
      [short, 'Key "k1" must be the base64 of exactly 32 bytes (AES-256), but it holds 31 bytes'],
      [long, 'Key "k1" must be the base64 of exactly 32 bytes (AES-256), but it holds 33 bytes'],
      [b64(new Uint8Array(16)), 'Key "k1" must be the base64 of exactly 32 bytes (AES-256), but it holds 16 bytes'],
      [`k2:${b64(k2)},k1:${short}`, 'Key "k1" must be the base64 of exactly 32 bytes (AES-256), but it holds 31 bytes'],
      ["not base64 at all!", 'Key "k1" is not base64'],
      [`k2:${b64(k2)},k1:`, 'Key "k1" is not base64'],
      [`k2:${b64(k2)},${b64(k1)}`, 'Entry 2 of the keyring is not "id:base64"'],
      [`k2:${b64(k2)},`, 'Entry 2 of the keyring is not "id:base64"'],
      [`k.2:${b64(k2)}`, "Entry 1 of the keyring has no valid key id"],
      [`:${b64(k2)}`, "Entry 1 of the keyring has no valid key id"],
      [`k1:${b64(k1)},k1:${b64(k2)}`, 'Key id "k1" appears twice in the keyring']
    ]
    for (const [spec, expected] of cases) {
      const result = parseKeyring(spec)
      expect(Either.isLeft(result)).toBe(true)
      const message = Either.match(result, { onLeft: (e) => e.message, onRight: () => "ok" })
      expect(message.startsWith(expected)).toBe(true)
      for (const secretPart of [short, long, b64(k1), b64(k2)]) expect(message).not.toContain(secretPart)
    }
  })

  it("a bad keyring never builds a layer", () => {
    const exit = Effect.runSyncExit(Effect.provide(Sealer, layerSealer({ activeKeyId: "k9", keys: { k1 } })))
    expect(Exit.isFailure(exit)).toBe(true)
  })
})
