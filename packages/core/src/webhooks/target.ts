/**
 * Where a webhook may point (SPEC 6.3): http(s) URLs whose host resolves only to public
 * addresses. Loopback, private, link-local, unique-local, carrier-grade NAT and unspecified
 * addresses are refused unless allowed by configuration. The check runs when a webhook is created
 * and again at every delivery on the addresses the connection actually uses (`guardedLookup`),
 * so a name that resolves elsewhere later (DNS rebinding) is refused too.
 *
 * @since 0.0.0
 */
import * as Effect from "effect/Effect"
import type { LookupAddress, LookupOptions } from "node:dns"
import { lookup } from "node:dns"
import { BlockList, isIP } from "node:net"

const blocked = new BlockList()
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4]
] as const) blocked.addSubnet(net, prefix, "ipv4")
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  ["64:ff9b::", 96]
] as const) blocked.addSubnet(net, prefix, "ipv6")

/**
 * Whether an address is on a loopback, private, link-local (or otherwise non-public) range;
 * IPv4-mapped IPv6 addresses are judged as their IPv4 address.
 * @since 0.0.0
 */
export const isPrivateAddress = (address: string): boolean => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return blocked.check(mapped[1]!, "ipv4")
  const family = isIP(address)
  if (family === 0) return true
  return blocked.check(address, family === 4 ? "ipv4" : "ipv6")
}

/** The host of a URL as `dns.lookup` takes it (IPv6 literals without brackets). */
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, "$1")

/**
 * Why a webhook URL cannot be used, or undefined when it can: its host must resolve, and (unless
 * `allowPrivate`) only to public addresses.
 * @since 0.0.0
 */
export const checkTarget = (url: string, allowPrivate: boolean): Effect.Effect<string | undefined> =>
  Effect.async<string | undefined>((resume) => {
    lookup(hostOf(new URL(url)), { all: true }, (error, addresses) => {
      if (error !== null || addresses.length === 0) return resume(Effect.succeed("url's host name cannot be resolved"))
      if (!allowPrivate && addresses.some((a) => isPrivateAddress(a.address))) {
        return resume(
          Effect.succeed(
            "url resolves to a loopback, private or link-local address, which webhooks may not use " +
              "(the server allows them with LAGRELLO_WEBHOOK_ALLOW_PRIVATE=1)"
          )
        )
      }
      resume(Effect.succeed(undefined))
    })
  })

/**
 * A `lookup` for `http.request` that refuses (ECONNREFUSED-like error) non-public addresses unless
 * `allowPrivate`: the check happens on the very addresses the connection uses.
 * @since 0.0.0
 */
export const guardedLookup = (allowPrivate: boolean) =>
  (
    hostname: string,
    options: LookupOptions,
    callback: (error: NodeJS.ErrnoException | null, address: string | Array<LookupAddress>, family?: number) => void
  ): void => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error !== null) return callback(error, [])
      const usable = allowPrivate ? addresses : addresses.filter((a) => !isPrivateAddress(a.address))
      if (usable.length === 0) {
        const refused: NodeJS.ErrnoException = new Error("the host resolves to a loopback, private or link-local address")
        refused.code = "EPRIVATEADDRESS"
        return callback(refused, [])
      }
      if (options.all === true) return callback(null, usable)
      callback(null, usable[0]!.address, usable[0]!.family)
    })
  }
