/**
 * The per-address rate limit of the endpoints without an access token, on Effect's TestClock:
 * fixed windows per key, the time of the next allowed request, and a bounded number of keys.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { ClientRateLimiter, layerClientRateLimiter } from "../../src/server/ClientRateLimiter.js"

const limit = { requests: 3, perMillis: 60_000 }

describe("ClientRateLimiter", () => {
  it.effect("allows `requests` per window and key, then says when the next one is", () =>
    Effect.gen(function*() {
      const limiter = yield* ClientRateLimiter
      const start = Date.parse("2026-01-01T00:00:00Z")
      yield* TestClock.setTime(start)
      for (let i = 0; i < 3; i++) expect(yield* limiter.take("a", limit)).toBeUndefined()
      expect(yield* limiter.take("a", limit)).toBe(start + 60_000)
      // Another key has its own window.
      expect(yield* limiter.take("b", limit)).toBeUndefined()
      yield* TestClock.adjust(Duration.seconds(59))
      expect(yield* limiter.take("a", limit)).toBe(start + 60_000)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* limiter.take("a", limit)).toBeUndefined()
    }).pipe(Effect.provide(layerClientRateLimiter())))

  it.effect("tracks at most maxClients keys, forgetting the oldest windows first", () =>
    Effect.gen(function*() {
      const limiter = yield* ClientRateLimiter
      const one = { requests: 1, perMillis: 60_000 }
      for (const key of ["a", "b", "c"]) expect(yield* limiter.take(key, one)).toBeUndefined()
      // "a" was forgotten when "c" came (2 keys at most): it starts a new window.
      expect(yield* limiter.take("a", one)).toBeUndefined()
      expect(yield* limiter.take("c", one)).toBeTypeOf("number")
    }).pipe(Effect.provide(layerClientRateLimiter({ maxClients: 2 }))))
})
