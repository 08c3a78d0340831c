/**
 * The source of randomness for secrets (tokens, TOTP secrets) and ids, as a service so tests can
 * make it repeatable.
 *
 * @since 0.0.0
 */
import { randomBytes, randomUUID } from "node:crypto"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * The operations of the {@link SecureRandom} service.
 * @since 0.0.0
 */
export interface SecureRandomService {
  /** `n` random bytes; `n` must be a non-negative safe integer (anything else is a defect). */
  readonly bytes: (n: number) => Effect.Effect<Uint8Array>
  /** A random RFC 9562 version 4 UUID, lowercase. */
  readonly uuid: () => Effect.Effect<string>
}

const checkSize = (n: number): Effect.Effect<number> =>
  Number.isSafeInteger(n) && n >= 0
    ? Effect.succeed(n)
    : Effect.dieMessage(`SecureRandom.bytes: the size must be a non-negative integer`)

/** Formats 16 bytes as a version 4 UUID (sets the version and variant bits). */
const formatUuid = (b: Uint8Array): string => {
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const hex = Buffer.from(b.buffer, b.byteOffset, 16).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * The SplitMix32 generator: small and well mixed, and NOT cryptographically secure. Only for the
 * {@link layerSecureRandomDeterministic} test layer.
 */
const splitMix32 = (seed: number) => {
  let state = seed >>> 0
  return (): number => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
}

/**
 * Cryptographically secure random bytes and UUIDs.
 * @since 0.0.0
 * @category tags
 */
export class SecureRandom extends Context.Tag("@lagrello/core/SecureRandom")<SecureRandom, SecureRandomService>() {}

/**
 * The production source: `crypto.randomBytes` and `crypto.randomUUID` (the operating system's
 * CSPRNG).
 * @since 0.0.0
 * @category layers
 */
export const layerSecureRandom: Layer.Layer<SecureRandom> = Layer.succeed(SecureRandom, {
  bytes: (n) =>
    Effect.flatMap(checkSize(n), (size) =>
      Effect.sync(() => {
        const buffer = randomBytes(size)
        return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
      })
    ),
  uuid: () => Effect.sync(() => randomUUID())
})

/**
 * A repeatable source for tests: every build of the layer yields the same sequence for the same
 * `seed` (taken modulo 2^32). It is NOT secure, its output is predictable by design: never use it
 * outside tests.
 * @since 0.0.0
 * @category layers
 */
export const layerSecureRandomDeterministic = (seed: number): Layer.Layer<SecureRandom> =>
  Layer.sync(SecureRandom, () => {
    const next = splitMix32(seed)
    const fill = (size: number): Uint8Array => {
      const out = new Uint8Array(size)
      for (let i = 0; i < size; i += 4) {
        const word = next()
        for (let j = 0; j < 4 && i + j < size; j++) out[i + j] = (word >>> (8 * j)) & 0xff
      }
      return out
    }
    return {
      bytes: (n) => Effect.flatMap(checkSize(n), (size) => Effect.sync(() => fill(size))),
      uuid: () => Effect.sync(() => formatUuid(fill(16)))
    }
  })
