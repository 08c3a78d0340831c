/**
 * `@lagrello/core/env`: the configuration of a Lagrello server and of the operator CLI read from
 * environment variables (SPEC 4.3), in one place. The demo server and `@lagrello/cli` both read
 * it through this module, so they agree on the database, the keys and their file.
 *
 * {@link parse} (the server's variables) and {@link parseOperator} (what the CLI needs: the
 * database and the keys) are pure: they read the record they are given (and `cwd`, to resolve
 * relative paths) and answer the configuration or the first {@link EnvError}, which names the
 * variable and never repeats a secret value. {@link encryptionKeys} reads (or creates, at the
 * first start) the key file beside a SQLite database; {@link lagrelloConfig} turns the result into
 * the composition root's `LagrelloConfig`.
 *
 * ```ts
 * import * as Env from "@lagrello/core/env"
 * const parsed = Env.parse(process.env, process.cwd())
 * ```
 *
 * @since 0.0.0
 */
import { randomBytes } from "node:crypto"
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from "node:fs"
import { isIP } from "node:net"
import { dirname, isAbsolute, join, resolve } from "node:path"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { parseKeyring } from "../crypto/Sealer.js"
import { CallbackUrl, TenantName } from "../domain/models.js"
import type { LagrelloConfig } from "../Lagrello.js"
import { parseSmtpUrl } from "../mail/smtp/SmtpUrl.js"

/**
 * Where the encryption key comes from.
 * @since 0.0.0
 */
export type EncryptionKeySource =
  /** `LAGRELLO_ENCRYPTION_KEY`: a base64 key of 32 bytes, or a keyring `"k2:BASE64,k1:BASE64"`. */
  | { readonly kind: "configured"; readonly keys: string }
  /** Unset with SQLite: generated once into this file (mode 0600) beside the database, then reused. */
  | { readonly kind: "file"; readonly path: string }

/** @since 0.0.0 */
export type Mail =
  | { readonly kind: "smtp"; readonly url: string; readonly from: string }
  | { readonly kind: "development"; readonly from: string }

/** @since 0.0.0 */
export type AdapterName = "fastify" | "express"

/**
 * The database: a SQLite file (absolute), or PostgreSQL (`url` holds the password; `path` is a
 * printable form without credentials, for logs).
 * @since 0.0.0
 */
export type Database =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "postgres"; readonly url: string; readonly path: string }

/**
 * What the operator CLI reads: `DATABASE_URL` and `LAGRELLO_ENCRYPTION_KEY`.
 * @since 0.0.0
 */
export interface OperatorEnvironment {
  readonly database: Database
  readonly encryptionKey: EncryptionKeySource
}

/**
 * Every variable of a server.
 * @since 0.0.0
 */
export interface Environment extends OperatorEnvironment {
  readonly port: number
  readonly host: string
  readonly mail: Mail
  readonly tenantName: string
  /** `LAGRELLO_ACCESS_TOKEN`; unset: one is generated at the first start and printed once. */
  readonly accessToken: string | undefined
  /** The tenant's callback URL, set at every start: `LAGRELLO_CALLBACK_URL`, or the demo's confirmation page. */
  readonly callbackUrl: string
  /** The server's address as users reach it, without a trailing slash. */
  readonly publicUrl: string
  readonly adapter: AdapterName
  /**
   * Whether `/dev/mailbox` is served (only with the development outbox): it lists live sign-in
   * links, so only while the server listens on a loopback address, unless `LAGRELLO_DEV_MAILBOX=1`
   * says so explicitly (`0` turns it off on loopback too).
   */
  readonly devMailbox: { readonly served: boolean; readonly why: string }
  /** `LAGRELLO_WEBHOOK_ALLOW_PRIVATE=1`: webhooks may point at loopback, private and link-local addresses. */
  readonly webhookAllowPrivate: boolean
  /** `LAGRELLO_EVENT_RETENTION_DAYS`: how long events and webhook delivery logs are kept (default 30). */
  readonly eventRetentionDays: number
  /**
   * Traces and metrics (SPEC 7.1): OTLP/HTTP export when `OTEL_EXPORTER_OTLP_ENDPOINT` (or a
   * signal's own `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `..._METRICS_ENDPOINT`) is set, `/metrics`
   * with `LAGRELLO_METRICS=1`. The exporters themselves read the other `OTEL_*` variables
   * (headers, timeouts, sampler).
   */
  readonly telemetry: Telemetry
}

/**
 * What the telemetry variables say.
 * @since 0.0.0
 */
export interface Telemetry {
  readonly otlp:
    | {
      readonly serviceName: string | undefined
      readonly traces: boolean
      readonly metrics: boolean
      readonly metricExportIntervalMillis: number | undefined
    }
    | undefined
  readonly prometheus: boolean
}

/**
 * A configuration that cannot be used: the variable, and one line (starting with the variable's
 * name) saying what is wrong with it.
 * @since 0.0.0
 * @category errors
 */
export class EnvError extends Schema.TaggedError<EnvError>()("EnvError", {
  variable: Schema.String,
  message: Schema.String
}) {}

/**
 * The key file cannot be read or created, or holds no valid key; the message names the file and
 * never repeats key material.
 * @since 0.0.0
 * @category errors
 */
export class KeyFileError extends Schema.TaggedError<KeyFileError>()("KeyFileError", {
  message: Schema.String
}) {}

/** @since 0.0.0 */
export const defaults = {
  port: 3000,
  host: "127.0.0.1",
  databasePath: "./data/lagrello.db",
  mailFrom: "Lagrello <no-reply@localhost>",
  tenantName: "Lagrello Demo",
  adapter: "fastify"
} as const

/**
 * The name of the generated key file, beside the database file.
 * @since 0.0.0
 */
export const keyFileName = "lagrello.key"

/** @since 0.0.0 */
export const minAccessTokenLength = 32

/**
 * The environment variables, as `process.env` holds them.
 * @since 0.0.0
 */
export type Variables = Readonly<Record<string, string | undefined>>
type Parsed<A> = Either.Either<A, EnvError>

const invalid = (variable: string, problem: string): Parsed<never> =>
  Either.left(new EnvError({ variable, message: `${variable}: ${problem}` }))

/** The variable's value; an empty or blank one counts as unset. */
const read = (env: Variables, name: string): string | undefined => {
  const value = env[name]
  return value === undefined || value.trim() === "" ? undefined : value.trim()
}

const hasControlCharacters = (s: string) => [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)

const firstIssue = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)[0]?.message ?? "it is not valid"

const parsePort = (text: string | undefined): Parsed<number> => {
  if (text === undefined) return Either.right(defaults.port)
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    return invalid("PORT", "must be a whole number from 1 to 65535")
  }
  return Either.right(Number(text))
}

const parseHost = (text: string | undefined): Parsed<string> => {
  if (text === undefined) return Either.right(defaults.host)
  if (!/^[A-Za-z0-9.:_-]+$/.test(text) && !/^\[[0-9A-Fa-f:.]+\]$/.test(text)) {
    return invalid("HOST", "must be a host name or an IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0")
  }
  return Either.right(text.replace(/^\[(.*)\]$/, "$1"))
}

const parseDatabase = (text: string | undefined, cwd: string): Parsed<Database> => {
  if (text === undefined) return Either.right({ kind: "sqlite", path: resolve(cwd, defaults.databasePath) })
  if (/^postgres(?:ql)?:/i.test(text)) {
    if (!URL.canParse(text)) {
      return invalid("DATABASE_URL", "is not a valid URL, expected postgres://user:password@host:5432/database")
    }
    const parsed = new URL(text)
    if (parsed.hostname === "" || parsed.pathname.length <= 1) {
      return invalid("DATABASE_URL", "must name a host and a database, e.g. postgres://user:password@host:5432/database")
    }
    return Either.right({ kind: "postgres", url: text, path: `postgres://${parsed.host}${parsed.pathname}` })
  }
  if (!/^sqlite:/i.test(text)) {
    return invalid("DATABASE_URL", "must be sqlite:PATH (e.g. sqlite:./data/lagrello.db), or unset for ./data/lagrello.db")
  }
  // `sqlite:PATH`, or `sqlite://PATH` (so `sqlite:///var/lib/lagrello.db` is the absolute path).
  const path = text.slice("sqlite:".length).replace(/^\/\//, "")
  if (path === "" || path.endsWith("/") || hasControlCharacters(path) || path === ":memory:") {
    return invalid("DATABASE_URL", "sqlite: must be followed by the path of the database file, e.g. sqlite:./data/lagrello.db")
  }
  return Either.right({ kind: "sqlite", path: isAbsolute(path) ? path : resolve(cwd, path) })
}

const parseMailFrom = (text: string | undefined): Parsed<string> => {
  if (text === undefined) return Either.right(defaults.mailFrom)
  if (hasControlCharacters(text) || !/@/.test(text) || text.length > 320) {
    return invalid("MAIL_FROM", "must be one sender address, e.g. Lagrello <no-reply@example.com>")
  }
  return Either.right(text)
}

const parseMail = (url: string | undefined, from: string): Parsed<Mail> => {
  if (url === undefined) return Either.right({ kind: "development", from })
  const endpoint = parseSmtpUrl(url)
  if (Either.isLeft(endpoint)) {
    // The core's message never repeats the URL or the password.
    return invalid("SMTP_URL", endpoint.left.message.replace(/^SMTP URL:\s*/, ""))
  }
  return Either.right({ kind: "smtp", url, from })
}

const parseAccessToken = (text: string | undefined): Parsed<string | undefined> => {
  if (text === undefined) return Either.right(undefined)
  if (!/^[\x21-\x7e]+$/.test(text)) {
    return invalid("LAGRELLO_ACCESS_TOKEN", "must be printable ASCII without spaces (it is sent in an HTTP header)")
  }
  if (text.length < minAccessTokenLength) {
    return invalid("LAGRELLO_ACCESS_TOKEN", `must be at least ${minAccessTokenLength} characters long`)
  }
  if (text.length > 512) return invalid("LAGRELLO_ACCESS_TOKEN", "must be at most 512 characters long")
  return Either.right(text)
}

const parseTenantName = (text: string | undefined): Parsed<string> => {
  if (text === undefined) return Either.right(defaults.tenantName)
  const decoded = Schema.decodeUnknownEither(TenantName)(text)
  return Either.isLeft(decoded) ? invalid("LAGRELLO_TENANT_NAME", firstIssue(decoded.left)) : Either.right(decoded.right)
}

const urlHost = (host: string) => (host.includes(":") ? `[${host}]` : host)

/** The IPv6 address in its shortest form (`0:0::0` -> `::`). */
const shortIPv6 = (address: string) => new URL(`http://[${address}]/`).hostname.slice(1, -1)

/**
 * An address that means "every interface" (0.0.0.0, ::, and their other spellings): no one can reach the server there.
 * @since 0.0.0
 */
export const isWildcardAddress = (host: string): boolean => {
  // Also `0` and `000.0.0.0`, which the system's resolver reads as 0.0.0.0.
  if (/^\d+(?:\.\d+){0,3}$/.test(host)) return host.split(".").every((part) => Number(part) === 0)
  if (isIP(host) === 6) return ["::", "::ffff:0:0"].includes(shortIPv6(host))
  return false
}

/**
 * 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`: addresses only this machine reaches.
 * @since 0.0.0
 */
export const isLoopbackAddress = (host: string): boolean => {
  if (host.toLowerCase() === "localhost") return true
  if (isIP(host) === 4) return host.split(".")[0] === "127"
  if (isIP(host) === 6) {
    const short = shortIPv6(host)
    return short === "::1" || /^::ffff:7f[0-9a-f]{2}:/.test(short)
  }
  return false
}

const parsePublicUrl = (text: string | undefined, host: string, port: number): Parsed<string> => {
  if (text === undefined) {
    if (isWildcardAddress(host)) {
      // Links in mails would point at http://0.0.0.0:PORT/..., which no browser can open.
      return invalid("PUBLIC_URL", "must be set when HOST is a wildcard address (every interface): set it to the demo's address as users reach it, e.g. PUBLIC_URL=https://auth.example.com")
    }
    return Either.right(`http://${urlHost(host)}:${port}`)
  }
  if (!URL.canParse(text)) return invalid("PUBLIC_URL", "must be an absolute URL, e.g. https://auth.example.com")
  const url = new URL(text)
  if (url.protocol !== "http:" && url.protocol !== "https:") return invalid("PUBLIC_URL", "must be an http(s) URL")
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    return invalid("PUBLIC_URL", "must not have credentials, a query or a fragment")
  }
  return Either.right(`${url.origin}${url.pathname}`.replace(/\/+$/, ""))
}

/**
 * The callback URL of a server without LAGRELLO_CALLBACK_URL: the demo's own confirmation page.
 * @since 0.0.0
 */
export const defaultCallbackUrl = (publicUrl: string): string => `${publicUrl}/login/{}`

const parseCallbackUrl = (text: string | undefined, publicUrl: string): Parsed<string> => {
  if (text === undefined) return Either.right(defaultCallbackUrl(publicUrl))
  const decoded = Schema.decodeUnknownEither(CallbackUrl)(text)
  return Either.isLeft(decoded) ? invalid("LAGRELLO_CALLBACK_URL", firstIssue(decoded.left)) : Either.right(decoded.right)
}

const parseEncryptionKey = (text: string | undefined, database: Database): Parsed<EncryptionKeySource> => {
  if (text === undefined) {
    if (database.kind === "postgres") {
      // Named under DATABASE_URL (the choice that makes the key mandatory); the message names the key.
      return invalid(
        "DATABASE_URL",
        "PostgreSQL requires LAGRELLO_ENCRYPTION_KEY to be set (there is no local file to keep a generated key beside); e.g. openssl rand -base64 32"
      )
    }
    return Either.right({ kind: "file", path: join(dirname(database.path), keyFileName) })
  }
  const keyring = parseKeyring(text)
  if (Either.isLeft(keyring)) {
    // The core's message never repeats key material.
    return invalid(
      "LAGRELLO_ENCRYPTION_KEY",
      `${keyring.left.message} (expected the base64 of 32 random bytes, e.g. from: openssl rand -base64 32)`
    )
  }
  return Either.right({ kind: "configured", keys: text })
}

const parseDevMailbox = (text: string | undefined, mail: Mail, host: string): Parsed<Environment["devMailbox"]> => {
  if (text !== undefined && text !== "0" && text !== "1") {
    return invalid("LAGRELLO_DEV_MAILBOX", "must be 1 (serve /dev/mailbox on any HOST) or 0 (never serve it)")
  }
  if (mail.kind !== "development") {
    if (text === "1") return invalid("LAGRELLO_DEV_MAILBOX", "the development mailbox exists only without SMTP_URL")
    return Either.right({ served: false, why: "SMTP_URL is set" })
  }
  if (text === "1") return Either.right({ served: true, why: "LAGRELLO_DEV_MAILBOX=1" })
  if (text === "0") return Either.right({ served: false, why: "LAGRELLO_DEV_MAILBOX=0" })
  return Either.right(
    isLoopbackAddress(host)
      ? { served: true, why: "HOST is a loopback address" }
      : { served: false, why: "HOST is not a loopback address; LAGRELLO_DEV_MAILBOX=1 serves it anyway" }
  )
}

const parseAllowPrivate = (text: string | undefined): Parsed<boolean> => {
  if (text === undefined || text === "0") return Either.right(false)
  if (text === "1") return Either.right(true)
  return invalid("LAGRELLO_WEBHOOK_ALLOW_PRIVATE", "must be 1 (webhooks may use private addresses) or 0")
}

const parseRetentionDays = (text: string | undefined): Parsed<number> => {
  if (text === undefined) return Either.right(30)
  const days = /^[0-9]{1,5}$/.test(text) ? Number(text) : Number.NaN
  if (!(days >= 1 && days <= 36_500)) {
    return invalid("LAGRELLO_EVENT_RETENTION_DAYS", "must be a whole number of days between 1 and 36500")
  }
  return Either.right(days)
}

const parseEndpoint = (name: string, text: string | undefined): Parsed<boolean> => {
  if (text === undefined) return Either.right(false)
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) {
    return invalid(name, "must be the http(s) URL of an OTLP/HTTP receiver, e.g. http://127.0.0.1:4318")
  }
  return Either.right(true)
}

const parseExporter = (name: string, text: string | undefined): Parsed<boolean> => {
  if (text === undefined) return Either.right(true)
  const values = text.split(",").map((value) => value.trim().toLowerCase())
  if (values.every((value) => value === "none")) return Either.right(false)
  if (values.some((value) => value !== "otlp" && value !== "none")) {
    return invalid(name, "must be otlp or none (the server exports over OTLP/HTTP only)")
  }
  return Either.right(true)
}

const parseTelemetry = (env: Variables): Parsed<Telemetry> =>
  Either.gen(function*() {
    const metricsFlag = read(env, "LAGRELLO_METRICS")
    if (metricsFlag !== undefined && metricsFlag !== "0" && metricsFlag !== "1") {
      return yield* invalid("LAGRELLO_METRICS", "must be 1 (serve /metrics in Prometheus text) or 0")
    }
    const prometheus = metricsFlag === "1"
    const any = yield* parseEndpoint("OTEL_EXPORTER_OTLP_ENDPOINT", read(env, "OTEL_EXPORTER_OTLP_ENDPOINT"))
    const tracesEndpoint = yield* parseEndpoint(
      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
      read(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
    const metricsEndpoint = yield* parseEndpoint(
      "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
      read(env, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    )
    const disabled = read(env, "OTEL_SDK_DISABLED")?.toLowerCase() === "true"
    const traces = (any || tracesEndpoint) &&
      (yield* parseExporter("OTEL_TRACES_EXPORTER", read(env, "OTEL_TRACES_EXPORTER")))
    const metrics = (any || metricsEndpoint) &&
      (yield* parseExporter("OTEL_METRICS_EXPORTER", read(env, "OTEL_METRICS_EXPORTER")))
    const interval = read(env, "OTEL_METRIC_EXPORT_INTERVAL")
    if (interval !== undefined && (!/^\d{1,9}$/.test(interval) || Number(interval) < 100)) {
      return yield* invalid("OTEL_METRIC_EXPORT_INTERVAL", "must be a whole number of milliseconds, at least 100")
    }
    return {
      otlp: disabled || (!traces && !metrics)
        ? undefined
        : {
          serviceName: read(env, "OTEL_SERVICE_NAME"),
          traces,
          metrics,
          metricExportIntervalMillis: interval === undefined ? undefined : Number(interval)
        },
      prometheus
    }
  })

const parseAdapter = (text: string | undefined): Parsed<AdapterName> => {
  if (text === undefined) return Either.right(defaults.adapter)
  const name = text.toLowerCase()
  if (name !== "fastify" && name !== "express") return invalid("LAGRELLO_ADAPTER", "must be fastify or express")
  return Either.right(name)
}

/**
 * The operator's variables: `DATABASE_URL` and `LAGRELLO_ENCRYPTION_KEY` (with SQLite and no key,
 * the key file beside the database). Relative paths are resolved against `cwd`; empty variables
 * count as unset.
 * @since 0.0.0
 */
export const parseOperator = (env: Variables, cwd: string): Either.Either<OperatorEnvironment, EnvError> =>
  Either.gen(function*() {
    const database = yield* parseDatabase(read(env, "DATABASE_URL"), cwd)
    const encryptionKey = yield* parseEncryptionKey(read(env, "LAGRELLO_ENCRYPTION_KEY"), database)
    return { database, encryptionKey }
  })

/**
 * Every variable of a server, checked in a fixed order (the first error is answered). Relative
 * paths are resolved against `cwd`; empty variables count as unset.
 * @since 0.0.0
 */
export const parse = (env: Variables, cwd: string): Either.Either<Environment, EnvError> =>
  Either.gen(function*() {
    const port = yield* parsePort(read(env, "PORT"))
    const host = yield* parseHost(read(env, "HOST"))
    const database = yield* parseDatabase(read(env, "DATABASE_URL"), cwd)
    const mail = yield* parseMail(read(env, "SMTP_URL"), yield* parseMailFrom(read(env, "MAIL_FROM")))
    const accessToken = yield* parseAccessToken(read(env, "LAGRELLO_ACCESS_TOKEN"))
    const tenantName = yield* parseTenantName(read(env, "LAGRELLO_TENANT_NAME"))
    const publicUrl = yield* parsePublicUrl(read(env, "PUBLIC_URL"), host, port)
    const callbackUrl = yield* parseCallbackUrl(read(env, "LAGRELLO_CALLBACK_URL"), publicUrl)
    const encryptionKey = yield* parseEncryptionKey(read(env, "LAGRELLO_ENCRYPTION_KEY"), database)
    const adapter = yield* parseAdapter(read(env, "LAGRELLO_ADAPTER"))
    const devMailbox = yield* parseDevMailbox(read(env, "LAGRELLO_DEV_MAILBOX"), mail, host)
    const webhookAllowPrivate = yield* parseAllowPrivate(read(env, "LAGRELLO_WEBHOOK_ALLOW_PRIVATE"))
    const eventRetentionDays = yield* parseRetentionDays(read(env, "LAGRELLO_EVENT_RETENTION_DAYS"))
    const telemetry = yield* parseTelemetry(env)
    return {
      port,
      host,
      database,
      mail,
      tenantName,
      accessToken,
      callbackUrl,
      publicUrl,
      encryptionKey,
      adapter,
      devMailbox,
      webhookAllowPrivate,
      eventRetentionDays,
      telemetry
    }
  })

/**
 * The key file's keys.
 * @since 0.0.0
 */
export interface KeyFile {
  /** The key in the keyring string form `parseKeyring` reads. */
  readonly keys: string
  readonly created: boolean
  /** Set when the file is readable by other users than its owner. */
  readonly warning: string | undefined
}

const errnoCode = (error: unknown): string =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : "unknown error"

const readKeyFile = (path: string): Effect.Effect<KeyFile, KeyFileError> =>
  Effect.gen(function*() {
    const text = yield* Effect.try({
      try: () => readFileSync(path, "utf8").trim(),
      catch: (error) =>
        new KeyFileError({
          message: `LAGRELLO_ENCRYPTION_KEY: it is unset and the key file ${path} cannot be read (${errnoCode(error)})`
        })
    })
    const keyring = parseKeyring(text)
    if (Either.isLeft(keyring)) {
      return yield* new KeyFileError({
        message: `LAGRELLO_ENCRYPTION_KEY: it is unset and the key file ${path} holds no valid key: ${keyring.left.message}`
      })
    }
    const mode = statSync(path).mode & 0o777
    const warning = (mode & 0o077) !== 0
      ? `The key file ${path} can be read by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`
      : undefined
    return { keys: text, created: false, warning }
  })

/**
 * Reads the key file, or creates it (with its folder) when missing and `create` allows it.
 * Refuses to create a key when the database already exists: what it sealed under the lost key
 * would no longer open.
 * @since 0.0.0
 */
export const ensureKeyFile = (
  path: string,
  databasePath: string,
  options: { readonly create?: boolean } = {}
): Effect.Effect<KeyFile, KeyFileError> =>
  Effect.suspend(() => {
    if (existsSync(path)) return readKeyFile(path)
    if (existsSync(databasePath)) {
      return Effect.fail(
        new KeyFileError({
          message: `LAGRELLO_ENCRYPTION_KEY: it is unset and the key file ${path} is missing, but the database ${databasePath} ` +
            "already exists; restore the key file or set LAGRELLO_ENCRYPTION_KEY to the key the database was used with"
        })
      )
    }
    if (options.create === false) {
      return Effect.fail(
        new KeyFileError({
          message: `LAGRELLO_ENCRYPTION_KEY: it is unset and the key file ${path} does not exist; ` +
            "start the server once or set LAGRELLO_ENCRYPTION_KEY"
        })
      )
    }
    const keys = randomBytes(32).toString("base64")
    let fd: number
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
      // `wx`: never overwrite a key another process wrote meanwhile.
      fd = openSync(path, "wx", 0o600)
    } catch (error) {
      if (errnoCode(error) === "EEXIST") return readKeyFile(path)
      return Effect.fail(
        new KeyFileError({
          message: `LAGRELLO_ENCRYPTION_KEY: it is unset and the key file ${path} cannot be created (${errnoCode(error)})`
        })
      )
    }
    try {
      writeSync(fd, `${keys}\n`)
      fsyncSync(fd)
    } catch (error) {
      return Effect.fail(
        new KeyFileError({
          message: `LAGRELLO_ENCRYPTION_KEY: it is unset and the key file ${path} cannot be written (${errnoCode(error)})`
        })
      )
    } finally {
      closeSync(fd)
    }
    return Effect.succeed<KeyFile>({ keys, created: true, warning: undefined })
  })

/**
 * The encryption keys of a configuration: configured, or the key file beside the SQLite database
 * (created when neither exists yet, unless `create` is false).
 * @since 0.0.0
 */
export const encryptionKeys = (
  environment: OperatorEnvironment,
  options: { readonly create?: boolean } = {}
): Effect.Effect<KeyFile, KeyFileError> =>
  environment.encryptionKey.kind === "configured"
    ? Effect.succeed({ keys: environment.encryptionKey.keys, created: false, warning: undefined })
    : ensureKeyFile(environment.encryptionKey.path, environment.database.path, options)

/**
 * The storage of the composition root for a parsed database.
 * @since 0.0.0
 */
export const storageConfig = (database: Database): LagrelloConfig["storage"] =>
  database.kind === "postgres" ? { postgres: database.url } : { sqlite: database.path }

/**
 * The composition root's configuration of a server's environment and its encryption keys (see
 * {@link encryptionKeys}). Without `LAGRELLO_CALLBACK_URL` the bootstrap leaves the tenant's
 * callback URL as it is (the server decides whether the default page applies).
 * @since 0.0.0
 */
export const lagrelloConfig = (environment: Environment, keys: string): LagrelloConfig => ({
  storage: storageConfig(environment.database),
  mail: environment.mail.kind === "smtp"
    ? { smtp: { url: environment.mail.url, from: environment.mail.from } }
    : { development: true },
  encryptionKeys: keys,
  policies: {
    webhookAllowPrivate: environment.webhookAllowPrivate,
    eventRetention: Duration.days(environment.eventRetentionDays)
  },
  publicUrl: environment.publicUrl,
  // Spans and metrics: OTLP/HTTP export when configured, /metrics with LAGRELLO_METRICS=1.
  ...(environment.telemetry.otlp === undefined && !environment.telemetry.prometheus
    ? {}
    : { telemetry: { otlp: environment.telemetry.otlp, prometheus: environment.telemetry.prometheus } }),
  bootstrap: {
    tenantName: environment.tenantName,
    accessToken: environment.accessToken,
    callbackUrl: environment.callbackUrl === defaultCallbackUrl(environment.publicUrl) ? undefined : environment.callbackUrl
  }
})
