/**
 * The SMTP server address as configured (`SMTP_URL`): `smtp://[user:pass@]host[:port]` (STARTTLS
 * when the server offers it, port 587 by default) or `smtps://[user:pass@]host[:port]` (TLS from
 * the start, port 465 by default). User and password are percent-decoded.
 *
 * @since 0.0.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"

/**
 * The SMTP configuration cannot be used. The message says what is wrong and never repeats the
 * URL or the password.
 * @since 0.0.0
 * @category errors
 */
export class SmtpConfigError extends Data.TaggedError("SmtpConfigError")<{ readonly message: string }> {}

/**
 * Where and how to connect, read from an SMTP URL.
 * @since 0.0.0
 */
export interface SmtpEndpoint {
  readonly host: string
  readonly port: number
  /** TLS from the start (`smtps:`); otherwise plain, upgraded with STARTTLS when offered. */
  readonly secure: boolean
  readonly auth: { readonly user: string; readonly pass: string } | undefined
}

const fail = (message: string) => Either.left(new SmtpConfigError({ message: `SMTP URL: ${message}` }))

const decode = (text: string): string | undefined =>
  Either.getOrUndefined(Either.try(() => decodeURIComponent(text)))

/**
 * Reads an SMTP URL. Query parameters are refused rather than ignored: the options of
 * `layerSmtp` (timeouts, TLS, pool) are set in code, not in the URL.
 * @since 0.0.0
 */
export const parseSmtpUrl = (url: string): Either.Either<SmtpEndpoint, SmtpConfigError> => {
  if (typeof url !== "string" || url.trim() === "") return fail("it is empty")
  if (!URL.canParse(url.trim())) return fail("it is not a valid URL (expected smtp://user:pass@host:port)")
  const parsed = new URL(url.trim())
  if (parsed.protocol !== "smtp:" && parsed.protocol !== "smtps:") {
    return fail("it must start with smtp:// (STARTTLS) or smtps:// (TLS)")
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1")
  if (host === "") return fail("it names no host")
  if (parsed.pathname !== "" && parsed.pathname !== "/") return fail("it must not have a path")
  if (parsed.search !== "" || parsed.hash !== "") {
    return fail("it must not have query parameters or a fragment: set those options in code")
  }
  const secure = parsed.protocol === "smtps:"
  const port = parsed.port === "" ? (secure ? 465 : 587) : Number(parsed.port)
  if (parsed.username === "" && parsed.password !== "") return fail("it has a password but no user name")
  let auth: SmtpEndpoint["auth"] = undefined
  if (parsed.username !== "") {
    const user = decode(parsed.username)
    const pass = decode(parsed.password)
    if (user === undefined || pass === undefined) return fail("its user name or password is not properly percent-encoded")
    if (pass === "") return fail("it has a user name but no password (write smtp://user:password@host)")
    auth = { user, pass }
  }
  return Either.right({ host, port, secure, auth })
}
