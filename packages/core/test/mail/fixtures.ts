/**
 * What the mail tests share: the services around a storage layer, a tenant and users, sending a
 * link the way the API does (`MagicLink.send`), and a logger that keeps every line.
 */
import { Cause, Effect, HashMap, Layer, List, Logger, LogLevel } from "effect"
import type { Unavailable } from "../../src/domain/errors.js"
import { layerPolicies, type PolicySettings } from "../../src/domain/policies.js"
import { layerSealer } from "../../src/crypto/Sealer.js"
import { openOutboxMessage } from "../../src/mail/OutboxMessage.js"
import { messageLinks } from "../../src/mail/Message.js"
import * as MagicLink from "../../src/operations/MagicLink.js"
import * as Tenants from "../../src/operations/Tenants.js"
import * as Users from "../../src/operations/Users.js"
import { layerSecureRandom } from "../../src/crypto/SecureRandom.js"
import type { Storage } from "../../src/storage/Storage.js"
import { Storage as StorageTag } from "../../src/storage/Storage.js"

export const testKeyring = { activeKeyId: "mail", keys: { mail: new Uint8Array(32).fill(42) } }
export const callbackUrl = "https://app.example.com/login/{}"
export const linkPattern = /^https:\/\/app\.example\.com\/login\/([A-Za-z0-9_-]{43})$/

/** Storage, the sealer, randomness and the policies: what `MagicLink.send` and the worker need. */
export const services = (storage: Layer.Layer<Storage, Unavailable>, policies: Partial<PolicySettings> = {}) =>
  Layer.mergeAll(storage, layerSealer(testKeyring), layerSecureRandom, layerPolicies(policies))

/** A tenant with the callback URL, and a user per address; answers the tenant id. */
export const setup = (...emails: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const tenant = yield* Tenants.ensure({ name: "Acme", accessToken: "mail-test-admin-token-0123456789", callbackUrl })
    for (const email of emails) {
      yield* Users.create(tenant.tenantId, { userId: email.split("@")[0]!, email })
    }
    return tenant.tenantId
  })

/** Sends a sign-in link to the user with this address (as the API does) and answers the link. */
export const sendLink = (tenantId: string, email: string) =>
  Effect.gen(function* () {
    yield* MagicLink.send(tenantId, email.split("@")[0]!)
    const storage = yield* StorageTag
    for (const record of yield* storage.listOutbox(100)) {
      const message = yield* Effect.orDie(openOutboxMessage(record))
      if (message.to === email) return { id: record.id, link: messageLinks(message)[0]! }
    }
    return yield* Effect.dieMessage(`no message to ${email}`)
  })

/** The outbox row of a message. */
export const outboxRow = (id: string) =>
  Effect.gen(function* () {
    const storage = yield* StorageTag
    const row = (yield* storage.listOutbox(1000)).find((r) => r.id === id)
    return row ?? (yield* Effect.dieMessage(`no outbox row ${id}`))
  })

const render = (value: unknown): string =>
  typeof value === "string" ? value : Array.isArray(value) ? value.map(render).join(" ") : String(value)

/**
 * A logger that keeps every line (all levels, with annotations and causes) as text, replacing the
 * default logger.
 */
export const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ annotations, cause, logLevel, message, spans }) => {
    const annotated = HashMap.reduce(annotations, "", (acc, value, key) => `${acc} ${key}=${render(value)}`)
    const spanNames = List.toArray(spans)
      .map((span) => span.label)
      .join(",")
    lines.push(`${logLevel.label} ${render(message)}${annotated} ${spanNames} ${Cause.isEmpty(cause) ? "" : Cause.pretty(cause)}`)
  })
  const layer = Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(LogLevel.All))
  return { lines, layer }
}
