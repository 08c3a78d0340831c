/**
 * A real SMTP server for the end-to-end tests (`smtp-server` on 127.0.0.1, a free port, plain
 * text without STARTTLS) that keeps what it receives.
 */
import { SMTPServer } from "smtp-server"
import type { SMTPServerDataStream, SMTPServerSession } from "smtp-server"

export interface ReceivedMail {
  readonly from: string
  readonly to: ReadonlyArray<string>
  /** The whole message as sent (headers and MIME parts). */
  readonly raw: string
}

export interface SmtpSink {
  readonly url: string
  readonly received: () => ReadonlyArray<ReceivedMail>
  /** Waits until a message to `address` (after the first `skip` ones to it) has arrived. */
  readonly waitFor: (address: string, options?: { skip?: number; timeoutMillis?: number }) => Promise<ReceivedMail>
  readonly close: () => Promise<void>
}

/** A message body with quoted-printable soft line breaks and escapes undone. */
export const decodedBody = (raw: string): string =>
  raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))

export const startSmtpSink = async (): Promise<SmtpSink> => {
  const received: Array<ReceivedMail> = []
  let waiters: Array<() => void> = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    closeTimeout: 50,
    onData: (stream: SMTPServerDataStream, session: SMTPServerSession, callback) => {
      const chunks: Array<Buffer> = []
      stream.on("data", (chunk: Buffer) => chunks.push(chunk))
      stream.on("end", () => {
        received.push({
          from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8")
        })
        callback()
        const current = waiters
        waiters = []
        for (const wake of current) wake()
      })
    }
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.server.address()
      resolve(typeof address === "object" && address !== null ? address.port : 0)
    })
  })
  // A demo stopped (or killed) in the middle of a session resets its connection: expected here,
  // and without a listener the server's "error" event would be an uncaught exception.
  server.on("error", () => {})
  return {
    url: `smtp://127.0.0.1:${port}`,
    received: () => [...received],
    waitFor: (address, { skip = 0, timeoutMillis = 10_000 } = {}) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`SMTP sink: no message to ${address} within ${timeoutMillis} ms`)), timeoutMillis)
        const check = () => {
          const found = received.filter((m) => m.to.includes(address))[skip]
          if (found) {
            clearTimeout(timer)
            resolve(found)
          } else waiters.push(check)
        }
        check()
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of (server as unknown as { connections: Set<{ close(): void }> }).connections) connection.close()
        server.close(() => resolve())
      })
  }
}
