/**
 * The one Effect runtime of the module: built once from the options' layers, shared by the
 * controllers, the guard and `LagrelloService`, and disposed on application shutdown (closing the
 * database and the SMTP pool, stopping the outbox worker).
 *
 * @since 0.0.0
 */
import type { Keyring, MailTransport } from "@lagrello/core"
import {
  layerDevMailbox,
  layerMemory,
  layerOutboxWorker,
  layerPurge,
  parseKeyring,
  Policies,
  Sealer,
  SecureRandom,
  Storage,
  Tenants
} from "@lagrello/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type { LagrelloModuleOptions } from "./options.js"

/**
 * The services every core operation may need.
 * @since 0.0.0
 */
export type LagrelloServices = Storage | Sealer | SecureRandom | Policies | MailTransport

/** @since 0.0.0 */
export type LagrelloRuntime = ManagedRuntime.ManagedRuntime<LagrelloServices, unknown>

/**
 * What the module builds at start: the runtime, and the tenant of the `bootstrap` option.
 * @since 0.0.0
 */
export interface LagrelloContext {
  readonly runtime: LagrelloRuntime
  readonly defaultTenantId: string | undefined
}

/** @since 0.0.0 */
export const LAGRELLO_CONTEXT = Symbol.for("@lagrello/nest/context")

const keyringOf = (keys: string | Keyring): Keyring => {
  if (typeof keys !== "string") return keys
  const parsed = parseKeyring(keys)
  if (Either.isLeft(parsed)) throw new Error(`Lagrello encryptionKeys: ${parsed.left.message}`)
  return parsed.right
}

/**
 * The layer an adapter module makes, loaded when the options select it: an application on SQLite
 * never loads the PostgreSQL driver, nor nodemailer when it uses the development mailbox (each
 * costs tens of milliseconds of start-up).
 */
const loaded = <A>(
  entry: string,
  load: () => Promise<Layer.Layer<A, unknown>>
): Layer.Layer<A, unknown> =>
  Layer.unwrapEffect(
    Effect.tryPromise({
      try: load,
      catch: (cause) =>
        new Error(`Lagrello cannot load ${entry}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    })
  )

/**
 * The layer of every service, from the module options.
 * @since 0.0.0
 */
export const layerFromOptions = (options: LagrelloModuleOptions): Layer.Layer<LagrelloServices, unknown> => {
  const storageOption = options.storage
  const storage =
    "sqlite" in storageOption
      ? loaded("@lagrello/core/sqlite", async () =>
          (await import("@lagrello/core/sqlite")).layerSqlite({ filename: storageOption.sqlite })
        )
      : "postgres" in storageOption
        ? loaded("@lagrello/core/pg", async () =>
            (await import("@lagrello/core/pg")).layerPg(
              typeof storageOption.postgres === "string" ? { url: storageOption.postgres } : storageOption.postgres
            )
          )
        : "memory" in storageOption
          ? layerMemory
          : storageOption.layer
  const mailOption = options.mail
  const mail =
    mailOption && "smtp" in mailOption
      ? loaded("@lagrello/core/smtp", async () => (await import("@lagrello/core/smtp")).layerSmtp(mailOption.smtp))
      : layerDevMailbox
  const services = Layer.mergeAll(
    storage,
    Sealer.layer(keyringOf(options.encryptionKeys)),
    SecureRandom.Live,
    Policies.layer(options.policies ?? {}),
    mail
  )
  const background = Layer.mergeAll(
    options.outbox?.enabled === false
      ? Layer.empty
      : layerOutboxWorker(
          options.outbox?.pollIntervalMillis === undefined ? {} : { pollInterval: options.outbox.pollIntervalMillis }
        ),
    options.purge?.enabled === false
      ? Layer.empty
      : layerPurge(options.purge?.intervalMillis === undefined ? {} : { interval: options.purge.intervalMillis })
  )
  const layer = Layer.provideMerge(background, services)
  // Provided under every layer, so that the fibers they fork (the outbox worker) log through it too.
  return options.logger === undefined
    ? layer
    : Layer.provideMerge(layer, Logger.replace(Logger.defaultLogger, options.logger))
}

/**
 * Builds the runtime (opening the database, running migrations) and applies `bootstrap`.
 * Rejects when a layer cannot be built, so a misconfigured application fails at start.
 * @since 0.0.0
 */
export const createLagrelloContext = async (options: LagrelloModuleOptions): Promise<LagrelloContext> => {
  const runtime: LagrelloRuntime = ManagedRuntime.make(layerFromOptions(options))
  try {
    await runtime.runtime()
    const bootstrap = options.bootstrap
    const defaultTenantId = bootstrap
      ? await runtime.runPromise(
          Effect.map(
            Tenants.ensure({
              name: bootstrap.tenantName,
              accessToken: bootstrap.accessToken,
              callbackUrl: bootstrap.callbackUrl
            }),
            (tenant) => tenant.tenantId
          )
        )
      : undefined
    return { runtime, defaultTenantId }
  } catch (error) {
    await runtime.dispose()
    throw error
  }
}

/** Re-exported for custom layers. @since 0.0.0 */
export { Storage }
