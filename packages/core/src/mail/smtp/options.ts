/**
 * The options of the SMTP transport, apart from it so that configuration types can name them
 * without loading nodemailer's types.
 *
 * @since 0.0.0
 */

/**
 * TLS settings. The defaults are strict: certificates are verified.
 * @since 0.0.0
 */
export interface SmtpTlsOptions {
  /**
   * For `smtp://`: refuse to send unless the connection is upgraded with STARTTLS. Default false
   * (STARTTLS is used whenever the server offers it).
   */
  readonly requireStartTls?: boolean | undefined
  /** Verify the server's certificate. Default true; turn off only for a test server. */
  readonly rejectUnauthorized?: boolean | undefined
  /** The name to verify the certificate against (SNI), when it differs from the URL's host. */
  readonly servername?: string | undefined
  /** Certificate authorities (PEM) to trust instead of Node's bundled ones. */
  readonly ca?: string | ReadonlyArray<string> | undefined
  /** The oldest TLS version accepted. Default Node's (TLS 1.2). */
  readonly minVersion?: "TLSv1.2" | "TLSv1.3" | undefined
}

/**
 * The options of `layerSmtp`. Only `url` and `from` are required.
 * @since 0.0.0
 */
export interface SmtpOptions {
  /** `smtp://[user:pass@]host[:port]` or `smtps://...` (see {@link parseSmtpUrl}). */
  readonly url: string
  /** The sender of every message, e.g. `"Acme <login@acme.example>"`. */
  readonly from: string
  /** Keep connections open and reuse them. Default true. */
  readonly pool?: boolean | undefined
  /** Connections of the pool. Default 20 (the outbox worker sends 20 messages at a time). */
  readonly maxConnections?: number | undefined
  /** Time to open the TCP connection. Default 10 s (nodemailer: 2 minutes). */
  readonly connectionTimeoutMillis?: number | undefined
  /** Time for the server's greeting once connected. Default 10 s (nodemailer: 30 s). */
  readonly greetingTimeoutMillis?: number | undefined
  /** Inactivity allowed on a connection while sending. Default 30 s (nodemailer: 10 minutes). */
  readonly socketTimeoutMillis?: number | undefined
  /**
   * The whole of one send, waiting for a free pooled connection included: past it the send is
   * abandoned as a transient failure (the outbox tries again). It bounds a server that trickles
   * its replies, which no socket timeout notices. Default 60 s.
   */
  readonly sendTimeoutMillis?: number | undefined
  /** The name the client gives in EHLO. Default nodemailer's (the machine's host name). */
  readonly clientName?: string | undefined
  readonly tls?: SmtpTlsOptions | undefined
}

