/**
 * The `otpauth://totp/...` key URI that authenticator apps read from a QR code (Google
 * Authenticator's Key Uri Format).
 *
 * @since 0.0.0
 */

/**
 * What a key URI names: the issuer (the tenant's name), the account (the user id) and the secret
 * as base32.
 * @since 0.0.0
 */
export interface TotpKeyUriParts {
  readonly issuer: string
  readonly account: string
  readonly secret: string
}

/** A lone UTF-16 surrogate: `encodeURIComponent` throws a `URIError` on one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * Percent-encodes one part. `encodeURIComponent` writes a space as `%20` and a `:` as `%3A`, as
 * the format needs. Lone surrogates (possible in a JSON string) become U+FFFD first, so this
 * never throws.
 */
const encodePart = (s: string): string => encodeURIComponent(s.replace(LONE_SURROGATE, "\uFFFD"))

/**
 * The key URI of a TOTP secret, exactly as the Key Uri Format asks:
 *
 * `otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`
 *
 * - Issuer and account are each percent-encoded with `encodeURIComponent`: a space is `%20`,
 *   and a `:` inside either is `%3A`, so the one literal `:` separates them.
 * - The secret is written uppercase without `=` padding or spaces (it is percent-encoded too, so
 *   a malformed secret from a request can never add parameters).
 * - `algorithm`, `digits` and `period` are always SHA1, 6 and 30: Google Authenticator ignores
 *   them, so other values would make codes that never match.
 * - With an empty issuer, the label is the account alone and no `issuer` parameter is written.
 *
 * The query is written by hand on purpose: `URLSearchParams` encodes a space as `+`, which
 * authenticator apps show literally in the issuer's name.
 * @since 0.0.0
 */
export const totpKeyUri = (parts: TotpKeyUriParts): string => {
  const { account, issuer, secret } = encodedKeyUriParts(parts)
  const label = issuer === "" ? account : `${issuer}:${account}`
  const issuerParam = issuer === "" ? "" : `&issuer=${issuer}`
  return `otpauth://totp/${label}?secret=${secret}${issuerParam}&algorithm=SHA1&digits=6&period=30`
}

/**
 * The three parts as {@link totpKeyUri} writes them (the secret normalized, each percent-encoded):
 * their lengths say how much room each takes in the URI, and so in a QR code. The issuer is
 * written twice (in the label and as the `issuer` parameter).
 * @since 0.0.0
 */
export const encodedKeyUriParts = ({ account, issuer, secret }: TotpKeyUriParts): TotpKeyUriParts => ({
  issuer: encodePart(issuer),
  account: encodePart(account),
  secret: encodePart(secret.replace(/[ \t\r\n]/g, "").replace(/=+$/, "").toUpperCase())
})
