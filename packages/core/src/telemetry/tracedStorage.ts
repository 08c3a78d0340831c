/**
 * Storage spans: every call of a storage port's methods in a span `Lagrello.Storage.<method>`
 * (kind client) with the database system and the method as attributes, never the arguments
 * (they hold token hashes, sealed secrets and e-mail addresses), and only under a sampled span.
 * When traces are exported, the composition root provides it as {@link TracedStorage}, and a
 * sampled request runs with it in place of the storage: the others (99 in 100 by default) call
 * the storage itself and pay nothing.
 *
 * @since 0.0.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { StorageService } from "../storage/Storage.js"
import { spanned } from "./Telemetry.js"

/**
 * The storage with spans, for the sampled requests.
 * @since 0.0.0
 * @category tags
 */
export class TracedStorage extends Context.Tag("@lagrello/core/TracedStorage")<TracedStorage, StorageService>() {}

/**
 * The storage with a span around each call.
 * @since 0.0.0
 */
export const tracedStorage = (storage: StorageService, system: string): StorageService => {
  const traced: Record<string, unknown> = {}
  for (const [name, member] of Object.entries(storage)) {
    // Only under a sampled span: the outbox worker's polls start no trace of their own.
    const options = { kind: "client", attributes: { "db.system.name": system, "db.operation.name": name } } as const
    const span = spanned(`Lagrello.Storage.${name}`, () => options)
    if (typeof member === "function") {
      traced[name] = (...args: Array<unknown>) => {
        const result: unknown = Reflect.apply(member, storage, args)
        return Effect.isEffect(result) ? span(result) : result
      }
    } else {
      traced[name] = Effect.isEffect(member) ? span(member) : member
    }
  }
  return traced as unknown as StorageService
}
