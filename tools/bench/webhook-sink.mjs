// The webhook receiver for the bench: node:http in its own process, pinned by run.mjs to the load
// generator's core. Answers 204 to each POST, counts distinct webhook-id headers, and prints
// "ready", then "received N DISTINCT" at most every 20 ms and once more when idle. SINK_PORT from
// the environment.
import { createServer } from "node:http"

let received = 0
const ids = new Set()
let timer
const report = () => {
  timer = undefined
  process.stdout.write(`received ${received} ${ids.size}\n`)
}
const server = createServer((req, res) => {
  ids.add(req.headers["webhook-id"])
  req.resume()
  req.on("end", () => {
    received++
    res.writeHead(204).end()
    timer ??= setTimeout(report, 20)
  })
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.SINK_PORT), "127.0.0.1", () => process.stdout.write("ready\n"))
process.on("SIGTERM", () => server.close(() => process.exit(0)))
