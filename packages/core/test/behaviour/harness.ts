/**
 * What the behavioural suite needs around a storage layer: the other services, a tenant with a
 * callback URL, and a way to read the link a send put in the outbox (as a mail reader would).
 */
import { Effect, Layer, Option } from "effect"
import type { Unavailable } from "../../src/domain/errors.js"
import { layerPolicies, type PolicySettings } from "../../src/domain/policies.js"
import { layerSealer } from "../../src/crypto/Sealer.js"
import { layerSecureRandom } from "../../src/crypto/SecureRandom.js"
import { readMailbox } from "../../src/mail/DevMailbox.js"
import { Storage } from "../../src/storage/Storage.js"
import * as Tenants from "../../src/operations/Tenants.js"

export const testKeyring = { activeKeyId: "test", keys: { test: new Uint8Array(32).fill(7) } }

export const adminToken = "admin-token-for-the-behavioural-suite-0123456789"
export const callbackUrl = "https://app.example.com/login/{}"

/** A storage layer under test; SQLite layers make a fresh file per test. */
export type StorageLayer = Layer.Layer<Storage, Unavailable>

export const services = (storage: StorageLayer, policies: Partial<PolicySettings> = {}) =>
  Layer.mergeAll(storage, layerSealer(testKeyring), layerSecureRandom, layerPolicies(policies))

/** Creates the tenant (with a callback URL) and answers its id. */
export const setupTenant = (name = "Acme") =>
  Effect.map(
    Tenants.ensure({ name, accessToken: `${adminToken}-${name}`, callbackUrl }),
    (tenant) => tenant.tenantId
  )

/** The token in the newest message to `email` in the outbox. */
export const lastToken = (email: string) =>
  Effect.gen(function* () {
    for (const { message } of yield* readMailbox(1000)) {
      const match = /https:\/\/app\.example\.com\/login\/([A-Za-z0-9_-]{43})/.exec(message.text)
      if (message.to === email && match) return match[1]!
    }
    return yield* Effect.dieMessage(`no link was sent to ${email}`)
  })

export const totpState = (tenantId: string, userId: string) =>
  Effect.flatMap(Storage, (s) => s.getTotp(tenantId, userId)).pipe(Effect.map(Option.getOrUndefined))
