// Load generator (a separate process, pinned to core 1 by run.mjs): autocannon against one
// scenario, rotating over a list of request paths. Usage: node load.mjs CONFIG.json -> JSON on stdout.
import { readFileSync } from "node:fs"
import autocannon from "autocannon"

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"))
let i = 0
const paths = cfg.paths
const result = await autocannon({
  url: cfg.url,
  connections: cfg.connections,
  duration: cfg.duration,
  headers: cfg.headers ?? {},
  requests: [
    {
      method: cfg.method ?? "GET",
      setupRequest: (req) => {
        req.path = paths[i++ % paths.length]
        return req
      }
    }
  ]
})
const statuses = {}
for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = count
process.stdout.write(
  JSON.stringify({
    rps: result.requests.total / result.duration,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    lat: { mean: result.latency.mean, p90: result.latency.p90, p97_5: result.latency.p97_5, p99_9: result.latency.p99_9, max: result.latency.max },
    errors: result.errors,
    timeouts: result.timeouts,
    statuses
  })
)
