/**
 * The services of a command: the configuration read by `@lagrello/core/env` (the server's own
 * parser) from the environment, and the composition root's layer built from it, with no
 * background work (no outbox worker, no purge, no bootstrap).
 *
 * @since 0.0.0
 */
import { existsSync } from "node:fs"
import { Lagrello, type LagrelloServices, StartupError, Unavailable } from "@lagrello/core"
import * as Env from "@lagrello/core/env"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { CliFailure } from "./failure.js"

/** The core's warnings and errors as lines on stderr (it never logs a secret). */
const stderrLogger = Logger.make(({ logLevel, message }) => {
  if (LogLevel.lessThan(logLevel, LogLevel.Warning)) return
  const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
  process.stderr.write(`lagrello: ${text}\n`)
})

/** The variable to change for each reason the services cannot start. */
const startupLine = (error: StartupError): string => {
  switch (error.reason) {
    case "EncryptionKeys":
    case "KeyMismatch":
      return `LAGRELLO_ENCRYPTION_KEY: ${error.message}`
    case "Storage":
      return `DATABASE_URL: ${error.message}`
    default:
      return error.message
  }
}

/**
 * The configuration of the environment: the database and the keys. Only `migrate` creates a
 * SQLite database (and its key file) that does not exist yet.
 */
export const operatorConfig = (options: { readonly create: boolean }) =>
  Effect.gen(function*() {
    const parsed = Env.parseOperator(process.env, process.cwd())
    if (Either.isLeft(parsed)) return yield* new CliFailure({ message: `Invalid configuration: ${parsed.left.message}` })
    const environment = parsed.right
    if (environment.database.kind === "sqlite" && !options.create && !existsSync(environment.database.path)) {
      return yield* new CliFailure({
        message: `DATABASE_URL: the SQLite database ${environment.database.path} does not exist; run lagrello migrate to create it`
      })
    }
    const keys = yield* Effect.mapError(
      Env.encryptionKeys(environment, { create: options.create }),
      (error) => new CliFailure({ message: error.message })
    )
    if (keys.warning !== undefined) process.stderr.write(`lagrello: ${keys.warning}\n`)
    if (keys.created) process.stderr.write(`lagrello: generated the encryption key in ${environment.encryptionKey.kind === "file" ? environment.encryptionKey.path : "the key file"}\n`)
    return { environment, keys: keys.keys }
  })

/**
 * Runs `program` with the services of the environment's database; the database is closed when it
 * ends.
 */
export const withServices = <A, E, R extends LagrelloServices>(
  program: (environment: Env.OperatorEnvironment) => Effect.Effect<A, E, R>,
  options: { readonly create?: boolean } = {}
): Effect.Effect<A, E | CliFailure | Unavailable> =>
  Effect.gen(function*() {
    const { environment, keys } = yield* operatorConfig({ create: options.create ?? false })
    const layer = Lagrello.layer({
      storage: Env.storageConfig(environment.database),
      encryptionKeys: keys,
      mail: { development: true },
      outbox: { enabled: false },
      purge: { enabled: false },
      logger: stderrLogger
    }).pipe(
      Layer.catchAll((error) => Layer.fail(new CliFailure({ message: startupLine(error) })))
    )
    return yield* Effect.provide(program(environment) as Effect.Effect<A, E, LagrelloServices>, layer)
  })

export { StartupError }
