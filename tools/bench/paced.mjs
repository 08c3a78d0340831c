// Paced load generator (a separate process, pinned to core 1 by run.mjs): offers a fixed rate of
// requests over a pool of keep-alive connections, spread evenly in time, and measures each
// latency from when the request was due (not when a connection was free), so a stall of the
// server is counted in full (no coordinated omission). autocannon's own rate option releases each
// connection's quota at the start of every second, in bursts. Usage: node paced.mjs CONFIG.json
// (url, paths, headers, duration s, connections, rate req/s) -> JSON on stdout.
import { readFileSync } from "node:fs"
import { Agent, request } from "node:http"

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"))
const url = new URL(cfg.url)
const agent = new Agent({ keepAlive: true, maxSockets: cfg.connections })
const latencies = []
const statuses = {}
let errors = 0
let sent = 0

const send = (path, dueAt) =>
  new Promise((resolve) => {
    const req = request({ agent, host: url.hostname, port: url.port, path, method: cfg.method ?? "GET", headers: cfg.headers ?? {} }, (res) => {
      res.resume()
      res.on("end", () => {
        latencies.push(performance.now() - dueAt)
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
        resolve()
      })
    })
    req.on("error", () => {
      errors++
      resolve()
    })
    req.end()
  })

const start = performance.now()
const total = Math.round(cfg.rate * cfg.duration)
const inFlight = []
while (sent < total) {
  // Every request due by now goes out, each timed from its own due time.
  const due = Math.min(total, Math.floor(((performance.now() - start) * cfg.rate) / 1000))
  for (; sent < due; sent++) inFlight.push(send(cfg.paths[sent % cfg.paths.length], start + (sent * 1000) / cfg.rate))
  await new Promise((r) => setImmediate(r))
}
await Promise.all(inFlight)
const elapsed = (performance.now() - start) / 1000
agent.destroy()
latencies.sort((a, b) => a - b)
const at = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 10) / 10
process.stdout.write(
  JSON.stringify({
    rps: latencies.length / elapsed,
    total: latencies.length,
    p50: at(0.5),
    p99: at(0.99),
    lat: { mean: Math.round((latencies.reduce((a, b) => a + b, 0) / latencies.length) * 10) / 10, p90: at(0.9), p99_9: at(0.999), max: at(1) },
    errors,
    statuses
  })
)
