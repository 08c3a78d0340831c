/**
 * The randomness service (src/services/SecureRandom.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { layerSecureRandom, layerSecureRandomDeterministic, SecureRandom } from "../../src/crypto/SecureRandom.js"

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** A few draws from a fresh build of the layer. */
const draws = Effect.gen(function* () {
  const random = yield* SecureRandom
  return [yield* random.bytes(20), yield* random.bytes(32), yield* random.bytes(3), yield* random.uuid()] as const
})

describe("layerSecureRandom", () => {
  it.effect("gives the requested number of bytes, different each time", () =>
    Effect.gen(function* () {
      const random = yield* SecureRandom
      for (const n of [0, 1, 12, 20, 32, 1000]) expect(yield* random.bytes(n)).toHaveLength(n)
      const a = yield* random.bytes(32)
      const b = yield* random.bytes(32)
      expect(a).toBeInstanceOf(Uint8Array)
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false)
    }).pipe(Effect.provide(layerSecureRandom))
  )

  it.effect("gives version 4 UUIDs, different each time", () =>
    Effect.gen(function* () {
      const random = yield* SecureRandom
      const a = yield* random.uuid()
      expect(a).toMatch(UUID_V4)
      expect(yield* random.uuid()).not.toBe(a)
    }).pipe(Effect.provide(layerSecureRandom))
  )

  it.effect("10^4 draws of 32 bytes are all distinct", () =>
    Effect.gen(function* () {
      const random = yield* SecureRandom
      const seen = new Set<string>()
      for (let i = 0; i < 10_000; i++) seen.add(Buffer.from(yield* random.bytes(32)).toString("hex"))
      expect(seen.size).toBe(10_000)
    }).pipe(Effect.provide(layerSecureRandom))
  )

  it("a size that is not a non-negative integer is a defect, not a throw", () => {
    for (const n of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const exit = Effect.runSyncExit(Effect.flatMap(SecureRandom, (r) => r.bytes(n)).pipe(Effect.provide(layerSecureRandom)))
      expect(Exit.match(exit, { onFailure: (cause) => cause._tag, onSuccess: () => "ok" })).toBe("Die")
    }
  })
})

describe("SecureRandom.deterministic", () => {
  it("repeats the same sequence on every build for the same seed", () => {
    const run = (seed: number) => Effect.runSync(Effect.provide(draws, layerSecureRandomDeterministic(seed)))
    const [first, second] = [run(42), run(42)]
    expect(first).toEqual(second)
    expect(first[0]).toHaveLength(20)
    expect(first[1]).toHaveLength(32)
    expect(first[2]).toHaveLength(3)
    expect(first[3]).toMatch(UUID_V4)
    // Draws within one build move on; another seed gives another sequence.
    expect(first[0]).not.toEqual(first[1].subarray(0, 20))
    expect(run(43)[1]).not.toEqual(first[1])
  })

  it("is not degenerate: bytes are spread over 0..255", () => {
    const bytes = Effect.runSync(
      Effect.provide(Effect.flatMap(SecureRandom, (r) => r.bytes(4096)), layerSecureRandomDeterministic(0))
    )
    expect(new Set(bytes).size).toBe(256)
  })

  it("a bad size is a defect here too", () => {
    const exit = Effect.runSyncExit(
      Effect.provide(Effect.flatMap(SecureRandom, (r) => r.bytes(-1)), layerSecureRandomDeterministic(1))
    )
    expect(Exit.match(exit, { onFailure: (cause) => cause._tag, onSuccess: () => "ok" })).toBe("Die")
  })
})
