/**
 * Rate limits per client address, for the endpoints that need no access token (SPEC 2.5:
 * `GET /v1/images/totp` costs milliseconds of CPU per image and anyone can call it). The limit of
 * an endpoint is its `ClientRateLimit` annotation in the contract.
 *
 * The counts live in the memory of each process: a client spread over several replicas gets the
 * limit once per replica, which is enough to keep one address from taking a server's CPU (the
 * per-user throttles of the auth operations live in the database). At most `maxClients`
 * addresses are tracked; past that the oldest windows are forgotten first, so the memory is
 * bounded whatever the traffic.
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * The operations of the {@link ClientRateLimiter} service.
 * @since 0.0.0
 */
export interface ClientRateLimiterService {
  /**
   * Counts one request of `key` (an endpoint and a client address) against `requests` per
   * `perMillis`: `undefined` when it is allowed, else the time (epoch ms) when the next one is.
   */
  readonly take: (
    key: string,
    limit: { readonly requests: number; readonly perMillis: number }
  ) => Effect.Effect<number | undefined>
}

/**
 * @since 0.0.0
 * @category tags
 */
export class ClientRateLimiter extends Context.Tag("@lagrello/core/ClientRateLimiter")<
  ClientRateLimiter,
  ClientRateLimiterService
>() {}

interface Window {
  readonly start: number
  count: number
}

/**
 * Fixed windows per key, in this process's memory, for at most `maxClients` keys (default
 * 10,000).
 * @since 0.0.0
 * @category layers
 */
export const layerClientRateLimiter = (options: { readonly maxClients?: number } = {}): Layer.Layer<ClientRateLimiter> =>
  Layer.sync(ClientRateLimiter, () => {
    const maxClients = options.maxClients ?? 10_000
    // Insertion order is the order windows started in: the first key is the oldest.
    const windows = new Map<string, Window>()
    return {
      take: (key, { perMillis, requests }) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const current = windows.get(key)
          if (current !== undefined && now - current.start < perMillis) {
            if (current.count >= requests) return current.start + perMillis
            current.count += 1
            return undefined
          }
          windows.delete(key)
          while (windows.size >= maxClients) windows.delete(windows.keys().next().value!)
          windows.set(key, { start: now, count: 1 })
          return undefined
        })
    }
  })
