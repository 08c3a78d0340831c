/**
 * The configurable rules of the auth operations (SPEC 2), with their documented defaults.
 *
 * @since 0.0.0
 */
import { Context, Duration, Layer } from "effect"

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
 * @since 0.0.0
 * @category tags
 */
export class Policies extends Context.Tag("@lagrello/core/Policies")<Policies, PolicySettings>() {
  /** The documented defaults. */
  static readonly Default = Layer.succeed(Policies, defaultPolicies)
  /** The defaults with some settings replaced. */
  static readonly layer = (overrides: Partial<PolicySettings>) =>
    Layer.succeed(Policies, { ...defaultPolicies, ...overrides })
}
