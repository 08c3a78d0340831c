/**
 * The configurable rules of the auth operations (SPEC 2), with their documented defaults.
 *
 * @since 0.0.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** @since 0.0.0 */
export interface PolicySettings {
  /** How long a magic link stays valid. Default 10 minutes. */
  readonly magicLinkLifetime: Duration.Duration
  /** Magic-link sends allowed per user within `sendWindow`. Default 5. */
  readonly sendLimit: number
  /** The sliding window of the send throttle. Default 10 minutes. */
  readonly sendWindow: Duration.Duration
  /** Consecutive wrong TOTP codes allowed before the back-off. Default 10. */
  readonly totpFailureLimit: number
  /** How long every TOTP attempt is refused once the limit is reached. Default 15 minutes. */
  readonly totpBackoff: Duration.Duration
}

/** @since 0.0.0 */
export const defaultPolicies: PolicySettings = {
  magicLinkLifetime: Duration.minutes(10),
  sendLimit: 5,
  sendWindow: Duration.minutes(10),
  totpFailureLimit: 10,
  totpBackoff: Duration.minutes(15)
}

/**
 * A policy setting out of range (e.g. a limit of 0).
 * @since 0.0.0
 */
export class InvalidPolicy extends Data.TaggedError("InvalidPolicy")<{ readonly message: string }> {}

/**
 * The settings, or the first one out of range.
 * @since 0.0.0
 */
export const validatePolicies = (settings: PolicySettings): Effect.Effect<PolicySettings, InvalidPolicy> => {
  const positiveInteger = (name: string, n: number) =>
    Number.isSafeInteger(n) && n >= 1 ? undefined : `${name} must be a whole number of at least 1 (got ${n})`
  const positiveDuration = (name: string, d: Duration.Duration) =>
    Duration.toMillis(d) >= 1 && Duration.isFinite(d) ? undefined : `${name} must be a finite duration of at least 1 ms`
  const problem =
    positiveInteger("sendLimit", settings.sendLimit) ??
    positiveInteger("totpFailureLimit", settings.totpFailureLimit) ??
    positiveDuration("magicLinkLifetime", settings.magicLinkLifetime) ??
    positiveDuration("sendWindow", settings.sendWindow) ??
    positiveDuration("totpBackoff", settings.totpBackoff)
  return problem ? Effect.fail(new InvalidPolicy({ message: `Lagrello policies: ${problem}` })) : Effect.succeed(settings)
}

/**
 * @since 0.0.0
 * @category tags
 */
export class Policies extends Context.Tag("@lagrello/core/Policies")<Policies, PolicySettings>() {
  /** The documented defaults. */
  static readonly Default = Layer.succeed(Policies, defaultPolicies)
  /** The defaults with some settings replaced; fails with InvalidPolicy when one is out of range. */
  static readonly layer = (overrides: Partial<PolicySettings>): Layer.Layer<Policies, InvalidPolicy> =>
    Layer.effect(Policies, validatePolicies({ ...defaultPolicies, ...overrides }))
}
