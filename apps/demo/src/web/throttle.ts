/**
 * The throttle of `POST /signin`: every accepted request creates a user (at the first sign-in)
 * and queues a mail, so it is limited per client address and in total, in sliding windows. The
 * core throttles sends per user only; without this, one client could create users and send mail
 * to any number of addresses (500 mails in 1.5 s were measured).
 *
 * Limits: `perAddress` requests per client address in `perAddressWindowMillis` (an office behind
 * one address still has room), and `total` in `totalWindowMillis` for all clients together (what
 * a botnet of many addresses gets at most). IPv6 clients are counted per /64, the block one
 * subscriber usually holds. The client address is the connection's peer (a proxy in front makes
 * every client one address: the total limit then applies to all, the per-address one too).
 *
 * State is in process memory and bounded: at most `maxAddresses` addresses are tracked (those
 * whose window has passed are dropped first, then the least recently seen); it resets on restart
 * and is per replica, which is enough for the demo.
 */
import { isIPv6 } from "node:net"

export interface ThrottleLimits {
  readonly perAddress: number
  readonly perAddressWindowMillis: number
  readonly total: number
  readonly totalWindowMillis: number
  readonly maxAddresses: number
}

export const signInLimits: ThrottleLimits = {
  perAddress: 10,
  perAddressWindowMillis: 10 * 60_000,
  total: 60,
  totalWindowMillis: 60_000,
  maxAddresses: 10_000
}

/** The key a client address is counted under: IPv4 as is, IPv6 by its /64 prefix. */
export const clientKey = (address: string | undefined): string => {
  if (address === undefined || address === "") return "unknown"
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return mapped[1]!
  if (!isIPv6(address)) return address
  const [head = "", tail = ""] = address.toLowerCase().split("::")
  const left = head === "" ? [] : head.split(":")
  const right = tail === "" ? [] : tail.split(":")
  const groups = address.includes("::") ? [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right] : left
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`
}

/** Times of the requests in a window, oldest first. */
const prune = (times: Array<number>, now: number, windowMillis: number) => {
  while (times.length > 0 && times[0]! <= now - windowMillis) times.shift()
}

export class SignInThrottle {
  private readonly byAddress = new Map<string, Array<number>>()
  private readonly all: Array<number> = []

  constructor(private readonly limits: ThrottleLimits = signInLimits) {}

  /** Counts a request; `retryAfterSeconds` when it is over a limit (and then it is not counted). */
  take(address: string | undefined, now = Date.now()): { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number } {
    const { perAddress, perAddressWindowMillis, total, totalWindowMillis } = this.limits
    const key = clientKey(address)
    const times = this.byAddress.get(key) ?? []
    prune(times, now, perAddressWindowMillis)
    prune(this.all, now, totalWindowMillis)
    const waits: Array<number> = []
    if (times.length >= perAddress) waits.push(times[0]! + perAddressWindowMillis - now)
    if (this.all.length >= total) waits.push(this.all[0]! + totalWindowMillis - now)
    if (waits.length > 0) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...waits) / 1000)) }
    times.push(now)
    this.all.push(now)
    // Least recently seen last to first: re-inserted at the end.
    this.byAddress.delete(key)
    this.byAddress.set(key, times)
    if (this.byAddress.size > this.limits.maxAddresses) this.evict(now)
    return { ok: true }
  }

  /** The number of addresses tracked (for tests of the bound). */
  get size(): number {
    return this.byAddress.size
  }

  private evict(now: number) {
    for (const [key, times] of this.byAddress) {
      if (times.at(-1)! <= now - this.limits.perAddressWindowMillis) this.byAddress.delete(key)
    }
    while (this.byAddress.size > this.limits.maxAddresses) {
      const oldest = this.byAddress.keys().next().value
      if (oldest === undefined) break
      this.byAddress.delete(oldest)
    }
  }
}
