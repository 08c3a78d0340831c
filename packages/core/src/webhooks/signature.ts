/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` holds
 * `v1,<base64 HMAC-SHA-256>` of `${webhook-id}.${webhook-timestamp}.${body}` under the secret
 * (`whsec_` and the base64 of its 32 bytes), one per secret, separated by spaces.
 *
 * @since 0.0.0
 */
import { createHmac } from "node:crypto"

/**
 * A new secret's text from 32 random bytes.
 * @since 0.0.0
 */
export const formatSecret = (bytes: Uint8Array) => `whsec_${Buffer.from(bytes).toString("base64")}`

/**
 * The `v1,...` signature of a message under one secret.
 * @since 0.0.0
 */
export const sign = (secret: string, id: string, timestampSeconds: number, body: string) => {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64")
  return `v1,${createHmac("sha256", key).update(`${id}.${timestampSeconds}.${body}`).digest("base64")}`
}

/**
 * The headers of a delivery, signed under every secret given (the current one, and during a
 * rotation's overlap the previous one).
 * @since 0.0.0
 */
export const signedHeaders = (secrets: ReadonlyArray<string>, id: string, timestampSeconds: number, body: string) => ({
  "webhook-id": id,
  "webhook-timestamp": String(timestampSeconds),
  "webhook-signature": secrets.map((s) => sign(s, id, timestampSeconds, body)).join(" ")
})
