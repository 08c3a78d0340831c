/**
 * A TCP proxy that plays the network between a server (a storage layer, a demo process) and
 * PostgreSQL: it forwards, cuts
 * (closes every connection and refuses new ones), or pauses (a blackhole: connections stay open,
 * nothing is forwarded either way, new ones are accepted and held).
 */
import { connect, createServer } from "node:net"
import type { Socket } from "node:net"

export interface TcpProxy {
  readonly port: number
  /** Closes every connection, and closes each new one at once. */
  readonly cut: () => void
  /** Stops forwarding without closing anything (packets "dropped"). */
  readonly pause: () => void
  /** Forwards again (paused connections resume). */
  readonly restore: () => void
  readonly close: () => Promise<void>
}

/** A proxy on a free loopback port to `target` (`host:port`). */
export const startProxy = async (target: { host: string; port: number }): Promise<TcpProxy> => {
  let mode: "open" | "paused" | "cut" = "open"
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    if (mode === "cut") return void client.destroy()
    const upstream = connect(target.port, target.host)
    for (const [from, to] of [
      [client, upstream],
      [upstream, client]
    ] as const) {
      sockets.add(from)
      from.on("data", (chunk) => to.write(chunk))
      from.on("close", () => {
        sockets.delete(from)
        to.destroy()
      })
      from.on("error", () => to.destroy())
      if (mode === "paused") from.pause()
    }
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port))
  })
  return {
    port,
    cut: () => {
      mode = "cut"
      for (const s of sockets) s.destroy()
    },
    pause: () => {
      mode = "paused"
      for (const s of sockets) s.pause()
    },
    restore: () => {
      mode = "open"
      for (const s of sockets) s.resume()
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
