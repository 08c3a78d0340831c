/**
 * The SMTP transport (SPEC 4.2), with nodemailer: pooled connections, explicit timeouts much
 * shorter than nodemailer's defaults (2 minutes to connect, 10 minutes of socket inactivity), and
 * TLS options. nodemailer's own logging stays off, so nothing of a message is ever logged.
 *
 * @since 0.0.0
 */
import { randomUUID } from "node:crypto"
import type { ConnectionOptions } from "node:tls"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import nodemailer from "nodemailer"
import type { SendMailOptions, SMTPPoolOptions } from "nodemailer"
import addressparser from "nodemailer/lib/addressparser"
import { MailDeliveryError, MailTransport } from "../MailTransport.js"
import type { MailMessage } from "../Message.js"
import type { SmtpOptions, SmtpTlsOptions } from "./options.js"
import { buildRawMessage, makeSender, type Sender } from "./RawMessage.js"
import { parseSmtpUrl, SmtpConfigError } from "./SmtpUrl.js"

export type { SmtpOptions, SmtpTlsOptions } from "./options.js"

/** The defaults of {@link SmtpOptions}, in milliseconds where they are times. @since 0.0.0 */
export const smtpDefaults = {
  pool: true,
  maxConnections: 20,
  connectionTimeoutMillis: 10_000,
  greetingTimeoutMillis: 10_000,
  socketTimeoutMillis: 30_000,
  sendTimeoutMillis: 60_000
} as const

/** What the layer needs of a nodemailer transporter, pooled or not. */
interface Transporter {
  readonly sendMail: (data: SendMailOptions) => Promise<unknown>
  readonly close: () => void
}

/**
 * The checked configuration: the sender, the send deadline and nodemailer's transport options.
 * @since 0.0.0
 */
export interface SmtpConfig {
  readonly from: string
  /** `from` parsed once: the envelope address and the `From` header of every message. */
  readonly sender: Sender
  readonly sendTimeoutMillis: number
  readonly transport: SMTPPoolOptions
}

const configError = (message: string) => Either.left(new SmtpConfigError({ message }))

const isPositiveInteger = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n > 0

/** Node's TLS options; nodemailer sends the URL's host name as SNI unless `servername` is set. */
const tlsOptions = (tls: SmtpTlsOptions): ConnectionOptions => ({
  rejectUnauthorized: tls.rejectUnauthorized ?? true,
  ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
  ...(tls.ca !== undefined ? { ca: typeof tls.ca === "string" ? tls.ca : [...tls.ca] } : {}),
  ...(tls.minVersion !== undefined ? { minVersion: tls.minVersion } : {})
})

/**
 * Checks the options and turns them into nodemailer's. Fails with a message naming the option
 * (never repeating the URL or the password).
 * @since 0.0.0
 */
export const smtpConfig = (options: SmtpOptions): Either.Either<SmtpConfig, SmtpConfigError> =>
  Either.flatMap(parseSmtpUrl(options.url), (endpoint) => {
    if (typeof options.from !== "string" || options.from.trim() === "" || /[\r\n]/.test(options.from)) {
      return configError("SMTP: the sender address (from) must be one non-empty line")
    }
    const parsed = addressparser(options.from.trim(), { flatten: true })
    const first = parsed[0]
    if (parsed.length !== 1 || first === undefined || first.address === "") {
      return configError("SMTP: the sender (from) must be one address, e.g. \"Acme <login@acme.example>\"")
    }
    const sender = makeSender(first.name === "" ? undefined : first.name, first.address)
    if (Either.isLeft(sender)) return configError(`SMTP: the sender (from): ${sender.left.message}`)
    const numbers = {
      maxConnections: options.maxConnections ?? smtpDefaults.maxConnections,
      connectionTimeoutMillis: options.connectionTimeoutMillis ?? smtpDefaults.connectionTimeoutMillis,
      greetingTimeoutMillis: options.greetingTimeoutMillis ?? smtpDefaults.greetingTimeoutMillis,
      socketTimeoutMillis: options.socketTimeoutMillis ?? smtpDefaults.socketTimeoutMillis,
      sendTimeoutMillis: options.sendTimeoutMillis ?? smtpDefaults.sendTimeoutMillis
    }
    for (const [name, value] of Object.entries(numbers)) {
      if (!isPositiveInteger(value)) return configError(`SMTP: ${name} must be a positive integer`)
    }
    const tls = options.tls ?? {}
    return Either.right({
      from: options.from.trim(),
      sender: sender.right,
      sendTimeoutMillis: numbers.sendTimeoutMillis,
      transport: {
        pool: options.pool ?? smtpDefaults.pool,
        maxConnections: numbers.maxConnections,
        host: endpoint.host,
        port: endpoint.port,
        secure: endpoint.secure,
        ...(endpoint.auth !== undefined ? { auth: { user: endpoint.auth.user, pass: endpoint.auth.pass } } : {}),
        ...(tls.requireStartTls === true ? { requireTLS: true } : {}),
        tls: tlsOptions(tls),
        connectionTimeout: numbers.connectionTimeoutMillis,
        greetingTimeout: numbers.greetingTimeoutMillis,
        socketTimeout: numbers.socketTimeoutMillis,
        dnsTimeout: numbers.connectionTimeoutMillis,
        ...(options.clientName !== undefined ? { name: options.clientName } : {}),
        // Never log: nodemailer's debug output holds the message data.
        logger: false,
        debug: false,
        transactionLog: false,
        // The messages are plain text and HTML: never read a file or fetch a URL for them.
        disableFileAccess: true,
        disableUrlAccess: true
      }
    })
  })

/**
 * Makes text from a server or a socket error safe to log and to store: one line, at most 300
 * characters, with URLs and anything that looks like a token replaced (a content filter may
 * quote the link it refused).
 */
const sanitize = (text: string): string =>
  Array.from(text, (c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? " " : c))
    .join("")
    .replace(/\s+/g, " ")
    .replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, "[url]")
    .replace(/[A-Za-z0-9_+/=-]{24,}/g, "[redacted]")
    .trim()
    .slice(0, 300)

interface NodemailerErrorFields {
  readonly code?: unknown
  readonly responseCode?: unknown
  readonly command?: unknown
  readonly message?: unknown
}

const field = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined)

/**
 * Maps what nodemailer rejected with to a {@link MailDeliveryError}. Permanent: a 5xx reply to
 * the message (RFC 5321), except 503 (wrong command sequence: the session's fault) and a refused
 * login (the configuration's fault, the same for every message: retrying after it is fixed must
 * still deliver). Everything else (connection, timeout, TLS, 4xx) is transient.
 * @since 0.0.0
 */
export const toDeliveryError = (
  error: unknown,
  options: { readonly timedOutAfterMillis?: number | undefined } = {}
): MailDeliveryError => {
  const e: NodemailerErrorFields = typeof error === "object" && error !== null ? error : {}
  const code = field(e.code)
  if (code === "EABORT") {
    const after = options.timedOutAfterMillis
    return new MailDeliveryError({
      message:
        after !== undefined
          ? `SMTP send abandoned after ${Duration.format(Duration.millis(after))} (EABORT)`
          : "SMTP send cancelled (EABORT)",
      permanent: false
    })
  }
  const responseCode = typeof e.responseCode === "number" ? e.responseCode : undefined
  const permanent =
    responseCode !== undefined && responseCode >= 500 && responseCode < 600 && responseCode !== 503 && code !== "EAUTH"
  const command = field(e.command)
  const detail = sanitize(field(e.message) ?? "unknown error")
  return new MailDeliveryError({
    message: `SMTP send failed${code !== undefined ? ` (${code}${command !== undefined ? `, ${command}` : ""})` : ""}: ${detail}`,
    permanent
  })
}

/** A unique id per message: the Message-ID's left side and the MIME boundary's tail. */
const messageId = Effect.sync(() => randomUUID().replaceAll("-", ""))

const sendWith = (transporter: Transporter, config: SmtpConfig) => (message: MailMessage) =>
  Effect.gen(function* () {
    // The message text is built here, once, and nodemailer only streams it (`raw` with its
    // envelope): its MailComposer was most of the CPU of a mail (docs/performance.md, issue 18).
    const built = buildRawMessage(config.sender, message, {
      dateMillis: yield* Clock.currentTimeMillis,
      id: yield* messageId
    })
    if (Either.isLeft(built)) {
      // The same message would be refused again: permanent.
      return yield* Effect.fail(new MailDeliveryError({ message: `SMTP: message not sent: ${built.left.message}`, permanent: true }))
    }
    const { envelope, raw } = built.right
    const deadline = AbortSignal.timeout(config.sendTimeoutMillis)
    return yield* Effect.tryPromise({
      try: (signal) =>
        transporter.sendMail({
          raw,
          envelope: { from: envelope.from, to: [...envelope.to] },
          // Aborted when the fiber is interrupted, or when the whole send takes too long.
          signal: AbortSignal.any([signal, deadline])
        }),
      catch: (error) =>
        toDeliveryError(error, deadline.aborted ? { timedOutAfterMillis: config.sendTimeoutMillis } : {})
    })
  }).pipe(Effect.asVoid)

/**
 * The SMTP {@link MailTransport}. The configuration is checked when the layer is built (failing
 * with {@link SmtpConfigError}); no connection is made until the first message, so a server
 * that is down at start does not stop the service (the outbox keeps the messages). The pool is
 * closed when the layer's scope closes; a send in progress finishes first.
 * @since 0.0.0
 * @category layers
 */
export const layerSmtp = (options: SmtpOptions): Layer.Layer<MailTransport, SmtpConfigError> =>
  Layer.scoped(
    MailTransport,
    Effect.gen(function* () {
      const config = yield* smtpConfig(options)
      const transporter = yield* Effect.acquireRelease(
        Effect.try({
          try: (): Transporter =>
            config.transport.pool === true
              ? nodemailer.createTransport({ ...config.transport, pool: true })
              : nodemailer.createTransport({ ...config.transport, pool: false }),
          catch: () => new SmtpConfigError({ message: "SMTP: nodemailer refused the configuration" })
        }),
        (transporter) => Effect.sync(() => transporter.close())
      )
      return MailTransport.of({ send: sendWith(transporter, config) })
    })
  )
