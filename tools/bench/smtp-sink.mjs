// The outbox's SMTP peer for the bench: smtp-server (no STARTTLS, no auth) in its own process,
// pinned by run.mjs to the load generator's core, so that receiving mail neither shares the
// demo's core nor the bench's own event loop. Prints "ready", then "received N" on each message.
// SMTP_PORT from the environment.
import { SMTPServer } from "smtp-server"

let received = 0
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS"],
  logger: false,
  maxClients: 100,
  onData(stream, _session, callback) {
    stream.resume()
    stream.on("end", () => {
      received++
      process.stdout.write(`received ${received}\n`)
      callback()
    })
  }
})
server.listen(Number(process.env.SMTP_PORT), "127.0.0.1", () => process.stdout.write("ready\n"))
process.on("SIGTERM", () => server.close(() => process.exit(0)))
