import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit } from "effect"
import { layerPolicies, Policies } from "../../src/domain/policies.js"

describe("Policies", () => {
  it.effect("the defaults are valid; out-of-range settings fail the layer with a message naming them", () =>
    Effect.gen(function* () {
      const defaults = yield* Effect.provide(Policies, layerPolicies())
      expect(defaults.sendLimit).toBe(5)
      expect([defaults.recoveryCodeCount, defaults.emailCodeLength, defaults.emailCodeFailureLimit]).toEqual([10, 6, 5])
      // 0 turns the e-mail code off.
      expect((yield* Effect.provide(Policies, layerPolicies({ emailCodeLength: 0 }))).emailCodeLength).toBe(0)
      expect([defaults.totpBackoff, defaults.totpBackoffMax, defaults.totpEscalationWindow, defaults.totpEnrolmentLifetime].map(Duration.toMinutes)).toEqual([15, 1440, 1440, 15])
      for (const [bad, name] of [
        [{ sendLimit: 0 }, "sendLimit"],
        [{ totpFailureLimit: 1.5 }, "totpFailureLimit"],
        [{ magicLinkLifetime: Duration.zero }, "magicLinkLifetime"],
        [{ totpBackoff: Duration.infinity }, "totpBackoff"],
        [{ totpBackoffMax: Duration.infinity }, "totpBackoffMax"],
        [{ totpEscalationWindow: Duration.days(36_526) }, "totpEscalationWindow"],
        [{ totpEnrolmentLifetime: Duration.zero }, "totpEnrolmentLifetime"],
        [{ recoveryCodeCount: 0 }, "recoveryCodeCount"],
        [{ recoveryCodeCount: 101 }, "recoveryCodeCount"],
        [{ emailCodeLength: 3 }, "emailCodeLength"],
        [{ emailCodeLength: 11 }, "emailCodeLength"],
        [{ emailCodeFailureLimit: 0 }, "emailCodeFailureLimit"]
      ] as const) {
        const exit = yield* Effect.exit(Effect.provide(Policies, layerPolicies(bad)))
        expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain(name)
      }
    }))
})
