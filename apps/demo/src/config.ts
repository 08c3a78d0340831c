/**
 * The demo server's configuration (SPEC 4.3): every environment variable is read here, and only
 * here. `loadConfig` is pure: it reads the variables it is given (and the working directory, to
 * resolve relative paths) and answers either the configuration or the first error, which names
 * the variable. It never repeats a secret value in an error.
 */
import { isIP } from "node:net"
import { isAbsolute, join, dirname, resolve } from "node:path"
import { CallbackUrl, parseKeyring, parseSmtpUrl, TenantName } from "@lagrello/core"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** Where the encryption key comes from. */
export type EncryptionKeySource =
  /** `LAGRELLO_ENCRYPTION_KEY`: a base64 key of 32 bytes, or a keyring `"k2:BASE64,k1:BASE64"`. */
  | { readonly kind: "configured"; readonly keys: string }
  /** Unset with SQLite: generated once into this file (mode 0600) beside the database, then reused. */
  | { readonly kind: "file"; readonly path: string }

export type Mail =
  | { readonly kind: "smtp"; readonly url: string; readonly from: string }
  | { readonly kind: "development"; readonly from: string }

export type AdapterName = "fastify" | "express"

export interface DemoConfig {
  readonly port: number
  readonly host: string
  /**
   * The database: a SQLite file (absolute), or PostgreSQL (`url` holds the password; `path` is a
   * printable form without credentials, for logs).
   */
  readonly database:
    | { readonly kind: "sqlite"; readonly path: string }
    | { readonly kind: "postgres"; readonly url: string; readonly path: string }
  readonly mail: Mail
  readonly tenantName: string
  /** `LAGRELLO_ACCESS_TOKEN`; unset: one is generated at the first start and printed once. */
  readonly accessToken: string | undefined
  /** The tenant's callback URL, set at every start: `LAGRELLO_CALLBACK_URL`, or the demo's confirmation page. */
  readonly callbackUrl: string
  /** The demo's address as users reach it, without a trailing slash. */
  readonly publicUrl: string
  readonly encryptionKey: EncryptionKeySource
  readonly adapter: AdapterName
  /**
   * Whether `/dev/mailbox` is served (only with the development outbox): it lists live sign-in
   * links, so only while the demo listens on a loopback address, unless `LAGRELLO_DEV_MAILBOX=1`
   * says so explicitly (`0` turns it off on loopback too).
   */
  readonly devMailbox: { readonly served: boolean; readonly why: string }
  /**
   * Traces and metrics (SPEC 7.1): OTLP/HTTP export when `OTEL_EXPORTER_OTLP_ENDPOINT` (or a
   * signal's own `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `..._METRICS_ENDPOINT`) is set, `/metrics`
   * with `LAGRELLO_METRICS=1`. The exporters themselves read the other `OTEL_*` variables
   * (headers, timeouts, sampler).
   */
  readonly telemetry: Telemetry
}

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

/** A configuration that cannot be used: the variable, and one line saying what is wrong with it. */
export interface ConfigError {
  readonly variable: string
  readonly message: string
}

export type ConfigResult =
  | { readonly ok: true; readonly config: DemoConfig }
  | { readonly ok: false; readonly error: ConfigError }

export const defaults = {
  port: 3000,
  host: "127.0.0.1",
  databasePath: "./data/lagrello.db",
  mailFrom: "Lagrello <no-reply@localhost>",
  tenantName: "Lagrello Demo",
  adapter: "fastify"
} as const

/** The name of the generated key file, beside the database file. */
export const keyFileName = "lagrello.key"

export const minAccessTokenLength = 32

class Invalid {
  constructor(readonly error: ConfigError) {}
}

const invalid = (variable: string, problem: string): never => {
  throw new Invalid({ variable, message: `${variable}: ${problem}` })
}

/** The variable's value; an empty or blank one counts as unset. */
const read = (env: Readonly<Record<string, string | undefined>>, name: string): string | undefined => {
  const value = env[name]
  return value === undefined || value.trim() === "" ? undefined : value.trim()
}

const hasControlCharacters = (s: string) => [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)

const firstIssue = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)[0]?.message ?? "it is not valid"

const parsePort = (text: string | undefined): number => {
  if (text === undefined) return defaults.port
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    return invalid("PORT", "must be a whole number from 1 to 65535")
  }
  return Number(text)
}

const parseHost = (text: string | undefined): string => {
  if (text === undefined) return defaults.host
  if (!/^[A-Za-z0-9.:_-]+$/.test(text) && !/^\[[0-9A-Fa-f:.]+\]$/.test(text)) {
    return invalid("HOST", "must be a host name or an IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0")
  }
  return text.replace(/^\[(.*)\]$/, "$1")
}

const parseDatabase = (text: string | undefined, cwd: string): DemoConfig["database"] => {
  if (text === undefined) return { kind: "sqlite", path: resolve(cwd, defaults.databasePath) }
  if (/^postgres(?:ql)?:/i.test(text)) {
    let parsed: URL
    try {
      parsed = new URL(text)
    } catch {
      return invalid("DATABASE_URL", "is not a valid URL, expected postgres://user:password@host:5432/database")
    }
    if (parsed.hostname === "" || parsed.pathname.length <= 1) {
      return invalid("DATABASE_URL", "must name a host and a database, e.g. postgres://user:password@host:5432/database")
    }
    return { kind: "postgres", url: text, path: `postgres://${parsed.host}${parsed.pathname}` }
  }
  if (!/^sqlite:/i.test(text)) {
    return invalid("DATABASE_URL", "must be sqlite:PATH (e.g. sqlite:./data/lagrello.db), or unset for ./data/lagrello.db")
  }
  // `sqlite:PATH`, or `sqlite://PATH` (so `sqlite:///var/lib/lagrello.db` is the absolute path).
  const path = text.slice("sqlite:".length).replace(/^\/\//, "")
  if (path === "" || path.endsWith("/") || hasControlCharacters(path) || path === ":memory:") {
    return invalid("DATABASE_URL", "sqlite: must be followed by the path of the database file, e.g. sqlite:./data/lagrello.db")
  }
  return { kind: "sqlite", path: isAbsolute(path) ? path : resolve(cwd, path) }
}

const parseMailFrom = (text: string | undefined): string => {
  if (text === undefined) return defaults.mailFrom
  if (hasControlCharacters(text) || !/@/.test(text) || text.length > 320) {
    return invalid("MAIL_FROM", "must be one sender address, e.g. Lagrello <no-reply@example.com>")
  }
  return text
}

const parseMail = (url: string | undefined, from: string): Mail => {
  if (url === undefined) return { kind: "development", from }
  const endpoint = parseSmtpUrl(url)
  if (Either.isLeft(endpoint)) {
    // The core's message never repeats the URL or the password.
    return invalid("SMTP_URL", endpoint.left.message.replace(/^SMTP URL:\s*/, ""))
  }
  return { kind: "smtp", url, from }
}

const parseAccessToken = (text: string | undefined): string | undefined => {
  if (text === undefined) return undefined
  if (!/^[\x21-\x7e]+$/.test(text)) {
    return invalid("LAGRELLO_ACCESS_TOKEN", "must be printable ASCII without spaces (it is sent in an HTTP header)")
  }
  if (text.length < minAccessTokenLength) {
    return invalid("LAGRELLO_ACCESS_TOKEN", `must be at least ${minAccessTokenLength} characters long`)
  }
  if (text.length > 512) return invalid("LAGRELLO_ACCESS_TOKEN", "must be at most 512 characters long")
  return text
}

const parseTenantName = (text: string | undefined): string => {
  if (text === undefined) return defaults.tenantName
  const decoded = Schema.decodeUnknownEither(TenantName)(text)
  return Either.isLeft(decoded) ? invalid("LAGRELLO_TENANT_NAME", firstIssue(decoded.left)) : decoded.right
}

const urlHost = (host: string) => (host.includes(":") ? `[${host}]` : host)

/** The IPv6 address in its shortest form (`0:0::0` -> `::`). */
const shortIPv6 = (address: string) => new URL(`http://[${address}]/`).hostname.slice(1, -1)

/** An address that means "every interface" (0.0.0.0, ::, and their other spellings): no one can reach the demo there. */
export const isWildcardAddress = (host: string): boolean => {
  // Also `0` and `000.0.0.0`, which the system's resolver reads as 0.0.0.0.
  if (/^\d+(?:\.\d+){0,3}$/.test(host)) return host.split(".").every((part) => Number(part) === 0)
  if (isIP(host) === 6) return ["::", "::ffff:0:0"].includes(shortIPv6(host))
  return false
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`: addresses only this machine reaches. */
export const isLoopbackAddress = (host: string): boolean => {
  if (host.toLowerCase() === "localhost") return true
  if (isIP(host) === 4) return host.split(".")[0] === "127"
  if (isIP(host) === 6) {
    const short = shortIPv6(host)
    return short === "::1" || /^::ffff:7f[0-9a-f]{2}:/.test(short)
  }
  return false
}

const parsePublicUrl = (text: string | undefined, host: string, port: number): string => {
  if (text === undefined) {
    if (isWildcardAddress(host)) {
      // Links in mails would point at http://0.0.0.0:PORT/..., which no browser can open.
      return invalid("PUBLIC_URL", "must be set when HOST is a wildcard address (every interface): set it to the demo's address as users reach it, e.g. PUBLIC_URL=https://auth.example.com")
    }
    return `http://${urlHost(host)}:${port}`
  }
  if (!URL.canParse(text)) return invalid("PUBLIC_URL", "must be an absolute URL, e.g. https://auth.example.com")
  const url = new URL(text)
  if (url.protocol !== "http:" && url.protocol !== "https:") return invalid("PUBLIC_URL", "must be an http(s) URL")
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    return invalid("PUBLIC_URL", "must not have credentials, a query or a fragment")
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "")
}

/** The callback URL of a demo without LAGRELLO_CALLBACK_URL: its own confirmation page. */
export const defaultCallbackUrl = (publicUrl: string): string => `${publicUrl}/login/{}`

const parseCallbackUrl = (text: string | undefined, publicUrl: string): string => {
  if (text === undefined) return defaultCallbackUrl(publicUrl)
  const decoded = Schema.decodeUnknownEither(CallbackUrl)(text)
  return Either.isLeft(decoded) ? invalid("LAGRELLO_CALLBACK_URL", firstIssue(decoded.left)) : decoded.right
}

const parseEncryptionKey = (text: string | undefined, database: DemoConfig["database"]): EncryptionKeySource => {
  if (text === undefined) {
    if (database.kind === "postgres") {
      // Named under DATABASE_URL (the choice that makes the key mandatory); the message names the key.
      return invalid(
        "DATABASE_URL",
        "PostgreSQL requires LAGRELLO_ENCRYPTION_KEY to be set (there is no local file to keep a generated key beside); e.g. openssl rand -base64 32"
      )
    }
    return { kind: "file", path: join(dirname(database.path), keyFileName) }
  }
  const keyring = parseKeyring(text)
  if (Either.isLeft(keyring)) {
    // The core's message never repeats key material.
    return invalid(
      "LAGRELLO_ENCRYPTION_KEY",
      `${keyring.left.message} (expected the base64 of 32 random bytes, e.g. from: openssl rand -base64 32)`
    )
  }
  return { kind: "configured", keys: text }
}

const parseDevMailbox = (text: string | undefined, mail: Mail, host: string): DemoConfig["devMailbox"] => {
  if (text !== undefined && text !== "0" && text !== "1") {
    return invalid("LAGRELLO_DEV_MAILBOX", "must be 1 (serve /dev/mailbox on any HOST) or 0 (never serve it)")
  }
  if (mail.kind !== "development") {
    if (text === "1") return invalid("LAGRELLO_DEV_MAILBOX", "the development mailbox exists only without SMTP_URL")
    return { served: false, why: "SMTP_URL is set" }
  }
  if (text === "1") return { served: true, why: "LAGRELLO_DEV_MAILBOX=1" }
  if (text === "0") return { served: false, why: "LAGRELLO_DEV_MAILBOX=0" }
  return isLoopbackAddress(host)
    ? { served: true, why: "HOST is a loopback address" }
    : { served: false, why: "HOST is not a loopback address; LAGRELLO_DEV_MAILBOX=1 serves it anyway" }
}

const parseEndpoint = (name: string, text: string | undefined): boolean => {
  if (text === undefined) return false
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) {
    return invalid(name, "must be the http(s) URL of an OTLP/HTTP receiver, e.g. http://127.0.0.1:4318")
  }
  return true
}

const parseExporter = (name: string, text: string | undefined): boolean => {
  if (text === undefined) return true
  const values = text.split(",").map((value) => value.trim().toLowerCase())
  if (values.every((value) => value === "none")) return false
  if (values.some((value) => value !== "otlp" && value !== "none")) {
    return invalid(name, "must be otlp or none (the demo exports over OTLP/HTTP only)")
  }
  return true
}

const parseTelemetry = (env: Readonly<Record<string, string | undefined>>): Telemetry => {
  const metricsFlag = read(env, "LAGRELLO_METRICS")
  if (metricsFlag !== undefined && metricsFlag !== "0" && metricsFlag !== "1") {
    return invalid("LAGRELLO_METRICS", "must be 1 (serve /metrics in Prometheus text) or 0")
  }
  const prometheus = metricsFlag === "1"
  const any = parseEndpoint("OTEL_EXPORTER_OTLP_ENDPOINT", read(env, "OTEL_EXPORTER_OTLP_ENDPOINT"))
  const tracesEndpoint = parseEndpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", read(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
  const metricsEndpoint = parseEndpoint("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", read(env, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"))
  const disabled = read(env, "OTEL_SDK_DISABLED")?.toLowerCase() === "true"
  const traces = (any || tracesEndpoint) && parseExporter("OTEL_TRACES_EXPORTER", read(env, "OTEL_TRACES_EXPORTER"))
  const metrics = (any || metricsEndpoint) && parseExporter("OTEL_METRICS_EXPORTER", read(env, "OTEL_METRICS_EXPORTER"))
  const interval = read(env, "OTEL_METRIC_EXPORT_INTERVAL")
  if (interval !== undefined && (!/^\d{1,9}$/.test(interval) || Number(interval) < 100)) {
    return invalid("OTEL_METRIC_EXPORT_INTERVAL", "must be a whole number of milliseconds, at least 100")
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
}

const parseAdapter = (text: string | undefined): AdapterName => {
  if (text === undefined) return defaults.adapter
  const name = text.toLowerCase()
  if (name !== "fastify" && name !== "express") return invalid("LAGRELLO_ADAPTER", "must be fastify or express")
  return name
}

/**
 * Reads the configuration from environment variables. Relative paths are resolved against `cwd`.
 * Empty variables count as unset.
 */
export const loadConfig = (env: Readonly<Record<string, string | undefined>>, cwd: string = process.cwd()): ConfigResult => {
  try {
    const port = parsePort(read(env, "PORT"))
    const host = parseHost(read(env, "HOST"))
    const database = parseDatabase(read(env, "DATABASE_URL"), cwd)
    const mail = parseMail(read(env, "SMTP_URL"), parseMailFrom(read(env, "MAIL_FROM")))
    const accessToken = parseAccessToken(read(env, "LAGRELLO_ACCESS_TOKEN"))
    const tenantName = parseTenantName(read(env, "LAGRELLO_TENANT_NAME"))
    const publicUrl = parsePublicUrl(read(env, "PUBLIC_URL"), host, port)
    const callbackUrl = parseCallbackUrl(read(env, "LAGRELLO_CALLBACK_URL"), publicUrl)
    const encryptionKey = parseEncryptionKey(read(env, "LAGRELLO_ENCRYPTION_KEY"), database)
    const adapter = parseAdapter(read(env, "LAGRELLO_ADAPTER"))
    const devMailbox = parseDevMailbox(read(env, "LAGRELLO_DEV_MAILBOX"), mail, host)
    const telemetry = parseTelemetry(env)
    return {
      ok: true,
      config: { port, host, database, mail, tenantName, accessToken, callbackUrl, publicUrl, encryptionKey, adapter, devMailbox, telemetry }
    }
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, error: error.error }
    throw error
  }
}
