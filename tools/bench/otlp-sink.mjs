#!/usr/bin/env node
// The local OTLP/HTTP sink of BENCH_ONLY=telemetry: accepts /v1/traces and /v1/metrics, counts
// requests and bytes, answers 200 with an empty JSON object (as a collector does). Prints
// `listening PORT`, and its counts as JSON on SIGTERM.
import { createServer } from "node:http"

const counts = { requests: 0, bytes: 0, traces: 0, metrics: 0 }
const server = createServer((request, response) => {
  let bytes = 0
  request.on("data", (chunk) => (bytes += chunk.length))
  request.on("end", () => {
    counts.requests++
    counts.bytes += bytes
    if (request.url === "/v1/traces") counts.traces++
    if (request.url === "/v1/metrics") counts.metrics++
    response.writeHead(200, { "content-type": "application/json" })
    response.end("{}")
  })
})
server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`))
process.on("SIGTERM", () => {
  console.log(JSON.stringify(counts))
  process.exit(0)
})
