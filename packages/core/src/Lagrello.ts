/**
 * The composition root: every service of a Lagrello server built from one configuration (the
 * storage, the sealer, randomness, the policies, the mail transport), the background work
 * (outbox worker, purge) and the start-up bootstrap of a tenant. The NestJS module, the demo and
 * the tests build their runtime from {@link layer}; nothing else assembles these layers.
 *
 * ```ts
 * const runtime = ManagedRuntime.make(Lagrello.layer({
 *   storage: { sqlite: "./data/lagrello.db" },
 *   mail: { smtp: { url: "smtp://mail.example.com:587", from: "Acme <login@acme.example>" } },
 *   encryptionKeys: process.env.LAGRELLO_ENCRYPTION_KEY!,
 *   bootstrap: { tenantName: "Acme", accessToken: process.env.LAGRELLO_ACCESS_TOKEN }
 * }))
 * ```
 *
 * The SQLite, PostgreSQL and SMTP adapters are loaded only when the configuration selects them,
 * so an application on SQLite never loads the PostgreSQL driver (each costs tens of milliseconds
 * of start-up), and their packages are optional peers.
 *
 * @since 0.0.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Keyring } from "./crypto/Sealer.js"
import { parseKeyring, layerSealer, Sealer } from "./crypto/Sealer.js"
import { ApiBaseUrl } from "./domain/location.js"
import type { PolicySettings } from "./domain/policies.js"
import { layerPolicies, Policies } from "./domain/policies.js"
import { layerDevMailbox } from "./mail/DevMailbox.js"
import type { MailTransport } from "./mail/MailTransport.js"
import { layerOutboxWorker } from "./mail/OutboxWorker.js"
import type { SmtpOptions } from "./mail/smtp/options.js"
import { layerPurge } from "./operations/Purge.js"
import { layerWebhookWorker } from "./webhooks/WebhookWorker.js"
import * as Keys from "./operations/Keys.js"
import * as Tenants from "./operations/Tenants.js"
import { layerSecureRandom, SecureRandom } from "./crypto/SecureRandom.js"
import { layerMemory } from "./storage/memory/index.js"
import type { PgStorageOptions } from "./storage/pg/options.js"
import type { ClientRateLimiter } from "./server/ClientRateLimiter.js"
import { layerClientRateLimiter } from "./server/ClientRateLimiter.js"
import { Storage } from "./storage/Storage.js"
import type { TelemetryConfig } from "./telemetry/options.js"
import { defaultSampleRatio } from "./telemetry/options.js"
import { layerOutboxSampler, Tracing, tracingSettings } from "./telemetry/Telemetry.js"
import { TracedStorage, tracedStorage } from "./telemetry/tracedStorage.js"

/**
 * Where users, links and secrets are kept.
 * @since 0.0.0
 */
export type StorageConfig =
  /** A SQLite database file (created with its folder when missing): the embedded default. */
  | { readonly sqlite: string }
  /**
   * PostgreSQL, for several replicas sharing one database: its URL
   * (`postgres://user:password@host:5432/db`), or the pool options (size, statement timeout).
   */
  | { readonly postgres: string | PgStorageOptions }
  /** In process memory: for tests only, nothing survives a restart. */
  | { readonly memory: true }
  /** Any storage layer, e.g. one you wrote. */
  | { readonly layer: Layer.Layer<Storage, unknown> }

/**
 * How e-mail leaves the outbox.
 * @since 0.0.0
 */
export type MailConfig =
  /**
   * An SMTP server: its URL, e.g. `smtp://user:pass@mail.example.com:587`, and sender, plus any
   * option of `layerSmtp` from `@lagrello/core/smtp` (pool size, timeouts, TLS).
   */
  | { readonly smtp: SmtpOptions }
  /**
   * The development mailbox: messages stay in the outbox, each link is printed on the console.
   * Never use it in production.
   */
  | { readonly development: true }

/**
 * The configuration of a Lagrello server.
 * @since 0.0.0
 */
export interface LagrelloConfig {
  readonly storage: StorageConfig
  /**
   * Default: the development mailbox, with a warning at start; refused when `NODE_ENV` is
   * `production` (say `{ development: true }` to have it there anyway).
   */
  readonly mail?: MailConfig | undefined
  /**
   * The AES-256-GCM keys sealing TOTP secrets and queued messages: a keyring, or its string form
   * `"k2:BASE64,k1:BASE64"` (first = active; older keys still open what they sealed) or a single
   * base64 key of 32 bytes.
   */
  readonly encryptionKeys: string | Keyring
  /** Link lifetime, send throttle, TOTP failure limit and back-off; documented defaults otherwise. */
  readonly policies?: Partial<PolicySettings> | undefined
  /**
   * Makes sure this tenant exists at start, so that a fresh server can be used at once: with
   * `accessToken`, holding it as an ADMIN token; without one, the start that creates the tenant
   * generates an ADMIN token, answered once by {@link Bootstrap}.
   */
  readonly bootstrap?: BootstrapConfig | undefined
  /** The outbox delivery worker (on by default; turn off on processes that must not send mail). */
  readonly outbox?: { readonly enabled?: boolean | undefined; readonly pollIntervalMillis?: number | undefined } | undefined
  /** The webhook delivery worker (SPEC 6.3; on by default, safe on every replica). */
  readonly webhooks?: { readonly enabled?: boolean | undefined; readonly pollIntervalMillis?: number | undefined } | undefined
  /**
   * Deleting expired links and finished messages once the send throttle no longer needs them
   * (on by default, every 10 minutes; safe on every replica).
   */
  readonly purge?: { readonly enabled?: boolean | undefined; readonly intervalMillis?: number | undefined } | undefined
  /**
   * The absolute URL clients reach the API at, before `/v1` (e.g. `https://auth.example.com`):
   * the links of answers (the token list's `paging`) are absolute under it. Without it they are
   * paths from the server's root.
   */
  readonly publicUrl?: string | undefined
  /** Replaces Effect's default logger (e.g. with one writing the application's log format). */
  readonly logger?: Logger.Logger<unknown, void> | undefined
  /**
   * Traces and metrics (SPEC 7.1): OTLP/HTTP export (`otlp`, loads `@lagrello/core/otel`), the
   * Prometheus text (`prometheus`), and the outbox sampling. Without it: no storage spans, no
   * outbox sampling, nothing exported.
   */
  readonly telemetry?: TelemetryConfig | undefined
}

/**
 * The tenant to make sure of at start.
 * @since 0.0.0
 */
export interface BootstrapConfig {
  readonly tenantName: string
  readonly accessToken?: string | undefined
  /** Replaces the tenant's callback URL at every start. */
  readonly callbackUrl?: string | undefined
}

/**
 * Why a server could not start; `message` says what to change and never holds a secret.
 * - `EncryptionKeys`: the keys are not a valid keyring;
 * - `Policies`: a policy setting is out of range;
 * - `Storage`: the database cannot be opened, reached or migrated;
 * - `Adapter`: the package of the selected storage or mail adapter cannot be loaded;
 * - `Mail`: the mail configuration cannot be used;
 * - `KeyMismatch`: the encryption keys do not open what the database was sealed with (the message
 *   names the key ids tried, never key material);
 * - `AccessTokenRevoked`, `AccessTokenOfAnotherTenant`: the bootstrap's access token.
 * @since 0.0.0
 * @category errors
 */
export class StartupError extends Schema.TaggedError<StartupError>()("StartupError", {
  reason: Schema.Literal(
    "EncryptionKeys",
    "Policies",
    "Storage",
    "Adapter",
    "Mail",
    "KeyMismatch",
    "AccessTokenRevoked",
    "AccessTokenOfAnotherTenant"
  ),
  message: Schema.String
}) {}

/**
 * The services every operation may need.
 * @since 0.0.0
 */
export type LagrelloServices = Storage | Sealer | SecureRandom | Policies | MailTransport | ClientRateLimiter

/**
 * What the start-up bootstrap did (none without the `bootstrap` configuration).
 * @since 0.0.0
 * @category tags
 */
export class Bootstrap extends Context.Tag("@lagrello/core/Bootstrap")<Bootstrap, Option.Option<Tenants.Bootstrapped>>() {}

const messageOf = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "message" in cause && typeof cause.message === "string"
    ? cause.message
    : String(cause)

/** The layer of an adapter module, loaded only when the configuration selects it. */
const loaded = <A, E>(
  entry: string,
  load: () => Promise<Layer.Layer<A, E>>
): Layer.Layer<A, StartupError | E> =>
  Layer.unwrapEffect(
    Effect.tryPromise({
      try: load,
      catch: (cause) => new StartupError({ reason: "Adapter", message: `Lagrello cannot load ${entry}: ${messageOf(cause)}` })
    })
  )

const storageLayer = (config: StorageConfig): Layer.Layer<Storage, StartupError> => {
  const layer: Layer.Layer<Storage, unknown> = "sqlite" in config
    ? loaded("@lagrello/core/sqlite", async () =>
      (await import("./storage/sqlite/index.js")).layerSqlite({ filename: config.sqlite }))
    : "postgres" in config
    ? loaded("@lagrello/core/pg", async () =>
      (await import("./storage/pg/index.js")).layerPg(
        typeof config.postgres === "string" ? { url: config.postgres } : config.postgres
      ))
    : "memory" in config
    ? layerMemory
    : config.layer
  return Layer.catchAll(layer, (error) =>
    Layer.fail(
      error instanceof StartupError ? error : new StartupError({ reason: "Storage", message: messageOf(error) })
    ))
}

const storageSystem = (config: StorageConfig): string =>
  "sqlite" in config ? "sqlite" : "postgres" in config ? "postgresql" : "memory" in config ? "memory" : "other"

/** The storage, and the same with a span around every call when traces are exported (for the sampled requests). */
const observedStorageLayer = (config: LagrelloConfig): Layer.Layer<Storage, StartupError> => {
  const layer = storageLayer(config.storage)
  const otlp = config.telemetry?.otlp
  if (otlp === undefined || otlp.traces === false) return layer
  const system = storageSystem(config.storage)
  return Layer.map(layer, (context) => Context.add(context, TracedStorage, tracedStorage(Context.get(context, Storage), system)))
}

/**
 * Spans, when traces are exported (or asked for with `spans`): every request where
 * `OTEL_TRACES_SAMPLER` is set (the tracer's sampler decides), else one in `1 / sampleRatio`.
 */
const tracingLayer = (telemetry: TelemetryConfig | undefined): Layer.Layer<never> => {
  const wanted = telemetry?.spans ?? (telemetry?.otlp !== undefined && telemetry.otlp.traces !== false)
  if (!wanted) return Layer.empty
  return Layer.unwrapEffect(
    Effect.map(
      Config.option(Config.string("OTEL_TRACES_SAMPLER")).pipe(Effect.orElseSucceed(() => Option.none<string>())),
      (sampler) =>
        Layer.succeed(
          Tracing,
          tracingSettings(
            Option.isSome(sampler) || telemetry?.otlp === undefined ? 1 : telemetry.otlp.sampleRatio ?? defaultSampleRatio
          )
        )
    )
  )
}

/** The OpenTelemetry export, loaded only when configured. */
const exportLayer = (telemetry: TelemetryConfig | undefined): Layer.Layer<never, StartupError> => {
  const otlp = telemetry?.otlp
  return otlp === undefined
    ? Layer.empty
    : loaded("@lagrello/core/otel", async () => (await import("./otel/index.js")).layerOtlp(otlp))
}

const mailLayer = (config: MailConfig | undefined): Layer.Layer<MailTransport, StartupError> => {
  if (config !== undefined) {
    return "smtp" in config
      ? Layer.catchAll(
        loaded("@lagrello/core/smtp", async () => (await import("./mail/smtp/index.js")).layerSmtp(config.smtp)),
        (error) =>
          Layer.fail(error instanceof StartupError ? error : new StartupError({ reason: "Mail", message: error.message }))
      )
      : layerDevMailbox
  }
  // No mail option: the development mailbox logs every live sign-in link. Say so, and refuse it
  // where the environment says production.
  return Layer.unwrapEffect(
    Effect.gen(function*() {
      const environment = yield* Config.string("NODE_ENV").pipe(Config.withDefault(""), Effect.orElseSucceed(() => ""))
      if (environment === "production") {
        return yield* new StartupError({
          reason: "Mail",
          message: "No mail option with NODE_ENV=production: set mail: { smtp: { url, from } }, " +
            "or mail: { development: true } to use the development mailbox (it logs every sign-in link) anyway"
        })
      }
      yield* Effect.logWarning(
        "Lagrello: no mail option, so mail goes to the development mailbox, which logs every sign-in link; " +
          "set mail: { smtp: { url, from } } before production"
      )
      return layerDevMailbox
    })
  )
}

const sealerLayer = (keys: string | Keyring): Layer.Layer<Sealer, StartupError> => {
  const keyring = typeof keys === "string" ? parseKeyring(keys) : Either.right(keys)
  return Either.isLeft(keyring)
    ? Layer.fail(new StartupError({ reason: "EncryptionKeys", message: `encryptionKeys: ${keyring.left.message}` }))
    : Layer.catchAll(layerSealer(keyring.right), (error) =>
      Layer.fail(new StartupError({ reason: "EncryptionKeys", message: `encryptionKeys: ${error.message}` })))
}

/**
 * The keyring against the database, before anything runs with it: a worker with the wrong keys
 * would give up every queued message as unreadable.
 */
const keyCheckLayer: Layer.Layer<never, StartupError, Storage | Sealer> = Layer.effectDiscard(
  Keys.verifyKeyring.pipe(
    Effect.catchTags({
      KeyMismatch: (error) => Effect.fail(new StartupError({ reason: "KeyMismatch", message: error.message })),
      Unavailable: (error) => Effect.fail(new StartupError({ reason: "Storage", message: error.message }))
    })
  )
)

const bootstrapLayer = (
  config: BootstrapConfig | undefined
): Layer.Layer<Bootstrap, StartupError, Storage | SecureRandom> =>
  Layer.effect(
    Bootstrap,
    config === undefined
      ? Effect.succeed(Option.none())
      : Tenants.bootstrap({ name: config.tenantName, accessToken: config.accessToken, callbackUrl: config.callbackUrl })
        .pipe(
          Effect.map(Option.some),
          Effect.catchTags({
            BootstrapConflict: (error) => Effect.fail(new StartupError({ reason: error.reason, message: error.message })),
            Unavailable: (error) => Effect.fail(new StartupError({ reason: "Storage", message: error.message }))
          })
        )
  )

/**
 * Every service of a server from its configuration, with the outbox worker and the purge
 * running in the background and the bootstrap applied. Building it opens the database (running
 * its migrations); closing its scope stops the worker gracefully and closes the database and the
 * SMTP pool. It fails with {@link StartupError} when the configuration cannot be used.
 * @since 0.0.0
 * @category layers
 */
export const layer = (config: LagrelloConfig): Layer.Layer<LagrelloServices | Bootstrap, StartupError> => {
  const policies = Layer.catchAll(
    layerPolicies(config.policies ?? {}),
    (error) => Layer.fail(new StartupError({ reason: "Policies", message: error.message }))
  )
  const services = Layer.mergeAll(
    observedStorageLayer(config),
    sealerLayer(config.encryptionKeys),
    layerSecureRandom,
    policies,
    mailLayer(config.mail),
    layerClientRateLimiter(),
    config.publicUrl === undefined ? Layer.empty : Layer.succeed(ApiBaseUrl, config.publicUrl.replace(/\/+$/, "")),
    tracingLayer(config.telemetry)
  )
  const background = Layer.mergeAll(
    config.outbox?.enabled === false
      ? Layer.empty
      : layerOutboxWorker(
        config.outbox?.pollIntervalMillis === undefined ? {} : { pollInterval: Duration.millis(config.outbox.pollIntervalMillis) }
      ),
    config.webhooks?.enabled === false
      ? Layer.empty
      : layerWebhookWorker(
        config.webhooks?.pollIntervalMillis === undefined ? {} : { pollInterval: Duration.millis(config.webhooks.pollIntervalMillis) }
      ),
    config.purge?.enabled === false
      ? Layer.empty
      : layerPurge(config.purge?.intervalMillis === undefined ? {} : { interval: Duration.millis(config.purge.intervalMillis) }),
    bootstrapLayer(config.bootstrap),
    config.telemetry === undefined
      ? Layer.empty
      : layerOutboxSampler(
        config.telemetry.outboxSampleIntervalMillis === undefined
          ? {}
          : { interval: Duration.millis(config.telemetry.outboxSampleIntervalMillis) }
      )
  )
  // The services, then the key check, then the background work and the bootstrap.
  const server = Layer.provideMerge(background, Layer.provideMerge(keyCheckLayer, services))
  // The export first (its tracer is every span's, the background fibers' too) and closed last,
  // flushing what the shutdown itself recorded.
  const observed = config.telemetry?.otlp === undefined ? server : Layer.provideMerge(server, exportLayer(config.telemetry))
  // Merged (not only provided), so that the runtime built from the layer logs with it too.
  return config.logger === undefined
    ? observed
    : Layer.provideMerge(observed, Logger.replace(Logger.defaultLogger, config.logger))
}
