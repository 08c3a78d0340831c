/**
 * CSRF protection of the forms that anonymous visitors post (sign in, confirm a link), without a
 * server-side session (an anonymous visitor must cost no server state): a signed
 * double-submit cookie. The browser gets a random value in an HttpOnly cookie; the form carries
 * HMAC-SHA-256(key, value) in a hidden field. A cross-site form can neither read the cookie nor
 * compute the HMAC (the key never leaves the process), so it cannot post a matching pair.
 *
 * The key is derived from the encryption key (HMAC under it of a label of its own, so it is no
 * key of anything else): forms stay valid across a restart and on every replica that shares the
 * configuration. Rotating the encryption key makes open forms answer "This form has expired"
 * once; the page that says so carries a new token. Signed-in users' forms carry their session's
 * own token instead (session.ts).
 */
import { createHmac, randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { Inject, Injectable } from "@nestjs/common"
import type { DemoConfig } from "../config.js"
import { DEMO_CONFIG } from "../tokens.js"
import { cookieValue, sameSecret } from "./session.js"

export const formCookie = "lagrello_demo_form"

const wellFormed = /^[A-Za-z0-9_-]{43}$/

@Injectable()
export class FormTokens {
  private readonly key: Buffer
  private readonly secure: boolean

  constructor(@Inject(DEMO_CONFIG) config: DemoConfig) {
    this.secure = config.publicUrl.toLowerCase().startsWith("https:")
    // The key file exists by now: the start reads or creates it before the application is built.
    const keys =
      config.encryptionKey.kind === "configured" ? config.encryptionKey.keys : readFileSync(config.encryptionKey.path, "utf8").trim()
    this.key = createHmac("sha256", keys).update("lagrello-demo/form-cookie/v1").digest()
  }

  private sign(value: string): string {
    return createHmac("sha256", this.key).update(value).digest("base64url")
  }

  /** The token for the forms of a page, and the cookie to set when the browser has none yet. */
  issue(cookieHeader: string | undefined): { readonly csrf: string; readonly setCookie: string | undefined } {
    const existing = cookieValue(cookieHeader, formCookie)
    if (existing !== undefined && wellFormed.test(existing)) return { csrf: this.sign(existing), setCookie: undefined }
    const value = randomBytes(32).toString("base64url")
    const attributes = ["HttpOnly", "SameSite=Lax", "Path=/", ...(this.secure ? ["Secure"] : [])]
    return { csrf: this.sign(value), setCookie: [`${formCookie}=${value}`, ...attributes].join("; ") }
  }

  /** Whether a posted token matches the browser's cookie. */
  check(cookieHeader: string | undefined, csrf: string | undefined): boolean {
    const value = cookieValue(cookieHeader, formCookie)
    if (value === undefined || csrf === undefined || !wellFormed.test(value)) return false
    return sameSecret(csrf, this.sign(value))
  }
}
