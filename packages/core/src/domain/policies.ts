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
  /**
   * How long every TOTP attempt is refused once the limit is reached: the first lock-out. Default
   * 15 minutes.
   */
  readonly totpBackoff: Duration.Duration
  /**
   * The longest lock-out. A lock-out that starts within `totpEscalationWindow` after the previous
   * one ended lasts twice as long as that one (15, 30, 60 minutes ... with the defaults), up to
   * this; a right code starts over at `totpBackoff`. So guessing stays bounded per day: with the
   * defaults, about 10 wrong codes a day once the lock-outs reach a day. Default 24 hours (when
   * shorter than `totpBackoff`, lock-outs do not escalate: each lasts `totpBackoff`).
   */
  readonly totpBackoffMax: Duration.Duration
  /** How soon after a lock-out ended another one counts as following it (and doubles). Default 24 hours. */
  readonly totpEscalationWindow: Duration.Duration
  /**
   * How long a new TOTP secret stays pending: a code made from it confirms the enrolment only
   * within this time after it was issued; later it is no longer accepted and is dropped (a
   * confirmed secret keeps working throughout). Default 15 minutes.
   */
  readonly totpEnrolmentLifetime: Duration.Duration
  /** Recovery codes in a set (SPEC 5.1). Default 10, at most 100. */
  readonly recoveryCodeCount: number
  /**
   * Digits of the code every sign-in mail carries beside its link (SPEC 5.2). Default 6, between
   * 4 and 10; 0 turns the code off (mails carry only the link).
   */
  readonly emailCodeLength: number
  /** Wrong codes that end a mail's challenge (its code and its link). Default 5. */
  readonly emailCodeFailureLimit: number
  /**
   * How long events (SPEC 6.1) and webhook delivery logs are kept before the purge deletes them.
   * Default 30 days.
   */
  readonly eventRetention: Duration.Duration
  /**
   * Whether webhooks may point at loopback, private and link-local addresses (SPEC 6.3). Default
   * false: such URLs are refused at creation and at every delivery.
   */
  readonly webhookAllowPrivate: boolean
}

/** @since 0.0.0 */
export const defaultPolicies: PolicySettings = {
  magicLinkLifetime: Duration.minutes(10),
  sendLimit: 5,
  sendWindow: Duration.minutes(10),
  totpFailureLimit: 10,
  totpBackoff: Duration.minutes(15),
  totpBackoffMax: Duration.hours(24),
  totpEscalationWindow: Duration.hours(24),
  totpEnrolmentLifetime: Duration.minutes(15),
  recoveryCodeCount: 10,
  emailCodeLength: 6,
  emailCodeFailureLimit: 5,
  eventRetention: Duration.days(30),
  webhookAllowPrivate: false
}

/**
 * A policy setting out of range (e.g. a limit of 0).
 * @since 0.0.0
 */
export class InvalidPolicy extends Data.TaggedError("InvalidPolicy")<{ readonly message: string }> {}

const longest = Duration.days(36_525)

/**
 * The settings, or the first one out of range.
 * @since 0.0.0
 */
export const validatePolicies = (settings: PolicySettings): Effect.Effect<PolicySettings, InvalidPolicy> => {
  const positiveInteger = (name: string, n: number) =>
    Number.isSafeInteger(n) && n >= 1 ? undefined : `${name} must be a whole number of at least 1 (got ${n})`
  const integerBetween = (name: string, n: number, min: number, max: number, or = "") =>
    Number.isSafeInteger(n) && n >= min && n <= max ? undefined : `${name} must be a whole number between ${min} and ${max}${or} (got ${n})`
  // At most 100 years: the times derived from them (a time plus a duration, a doubled lock-out)
  // stay exact integers of milliseconds in every store.
  const positiveDuration = (name: string, d: Duration.Duration) =>
    Duration.isDuration(d) && Duration.isFinite(d) && Duration.toMillis(d) >= 1 && Duration.lessThanOrEqualTo(d, longest)
      ? undefined
      : `${name} must be a duration of at least 1 ms and at most 100 years`
  const problem =
    positiveInteger("sendLimit", settings.sendLimit) ??
    positiveInteger("totpFailureLimit", settings.totpFailureLimit) ??
    positiveDuration("magicLinkLifetime", settings.magicLinkLifetime) ??
    positiveDuration("sendWindow", settings.sendWindow) ??
    positiveDuration("totpBackoff", settings.totpBackoff) ??
    positiveDuration("totpBackoffMax", settings.totpBackoffMax) ??
    positiveDuration("totpEscalationWindow", settings.totpEscalationWindow) ??
    positiveDuration("totpEnrolmentLifetime", settings.totpEnrolmentLifetime) ??
    integerBetween("recoveryCodeCount", settings.recoveryCodeCount, 1, 100) ??
    (settings.emailCodeLength === 0 ? undefined : integerBetween("emailCodeLength", settings.emailCodeLength, 4, 10, " (or 0 to turn the code off)")) ??
    positiveInteger("emailCodeFailureLimit", settings.emailCodeFailureLimit) ??
    positiveDuration("eventRetention", settings.eventRetention)
  return problem ? Effect.fail(new InvalidPolicy({ message: `Lagrello policies: ${problem}` })) : Effect.succeed(settings)
}

/**
 * The policy settings in force.
 * @since 0.0.0
 * @category tags
 */
export class Policies extends Context.Tag("@lagrello/core/Policies")<Policies, PolicySettings>() {}

/**
 * The documented defaults with `overrides` replacing some settings (none: all defaults); fails
 * with {@link InvalidPolicy} when one is out of range.
 * @since 0.0.0
 * @category layers
 */
export const layerPolicies = (overrides: Partial<PolicySettings> = {}): Layer.Layer<Policies, InvalidPolicy> =>
  Layer.effect(Policies, validatePolicies({ ...defaultPolicies, ...overrides }))
