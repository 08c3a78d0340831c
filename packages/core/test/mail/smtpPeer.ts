/**
 * A real SMTP server for tests (`smtp-server` on 127.0.0.1, plain text, no STARTTLS) that keeps
 * what it receives. It can refuse mail to simulate failures, be stopped for real and started
 * again on the same port, and answer slowly (or only when told) to keep a send in flight.
 *
 * Waiting for mail uses real timers (network completion is real I/O), so it works the same
 * under the TestClock.
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { SMTPServer } from "smtp-server"
import type { SMTPServerDataStream, SMTPServerSession } from "smtp-server"

/** A message as the server received it. */
export interface ReceivedMail {
  readonly from: string
  readonly to: ReadonlyArray<string>
  /** The user that logged in, if any. */
  readonly user: string | undefined
  /** The whole message as sent (headers and MIME parts). */
  readonly raw: string
}

/**
 * How the server answers:
 * - `accept`: takes every message;
 * - `unavailable`: answers every connection (and every message on a connection already open)
 *   with `421` (a transient failure);
 * - `reject`: refuses every recipient with `550` (a permanent failure);
 * - `slow`: takes every message, but only `slowMillis` after its data arrived;
 * - `hold`: takes every message, but only when `releaseHeld` is called (a send kept in flight for
 *   as long as a test needs, whatever the clock does).
 */
export type PeerMode = "accept" | "unavailable" | "reject" | "slow" | "hold"

export interface SmtpPeer {
  readonly port: number
  /** `smtp://127.0.0.1:PORT`, or with the credentials when the peer requires a login. */
  readonly url: string
  readonly received: () => ReadonlyArray<ReceivedMail>
  /** Messages whose data has started to arrive (also those still being received). */
  readonly dataStarted: () => number
  readonly setMode: (mode: PeerMode) => Effect.Effect<void>
  /** Answers the messages held in `hold` mode (they count as received from then on). */
  readonly releaseHeld: Effect.Effect<void>
  /** Stops listening and closes the open connections: connecting is refused from now on. */
  readonly stop: Effect.Effect<void>
  /** Listens again, on the same port. */
  readonly start: Effect.Effect<void>
  /** Waits (real time) until `count` messages have arrived; dies after `timeoutMillis`. */
  readonly waitFor: (count: number, timeoutMillis?: number) => Effect.Effect<ReadonlyArray<ReceivedMail>>
  /** Waits (real time) until the data of `count` messages has started to arrive. */
  readonly waitForData: (count: number, timeoutMillis?: number) => Effect.Effect<void>
}

export interface SmtpPeerOptions {
  /** Require this login (AUTH PLAIN/LOGIN over the plain connection). */
  readonly login?: { readonly user: string; readonly pass: string }
  readonly slowMillis?: number
}

/** The text of a message body part, with quoted-printable soft line breaks and escapes undone. */
export const decodedBody = (raw: string): string =>
  raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))

const smtpError = (message: string, responseCode: number) => Object.assign(new Error(message), { responseCode })

/** Starts a peer on a free port; it is stopped when the scope closes. */
export const smtpPeer = (options: SmtpPeerOptions = {}): Effect.Effect<SmtpPeer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const received: Array<ReceivedMail> = []
    let dataStarted = 0
    let mode: PeerMode = "accept"
    let waiters: Array<() => void> = []
    const timers = new Set<ReturnType<typeof setTimeout>>()
    let held: Array<() => void> = []
    const notify = () => {
      const current = waiters
      waiters = []
      for (const wake of current) wake()
    }

    const makeServer = () =>
      new SMTPServer({
        authOptional: options.login === undefined,
        allowInsecureAuth: true,
        disabledCommands: ["STARTTLS"],
        logger: false,
        closeTimeout: 50,
        onConnect: (_session, callback) =>
          mode === "unavailable"
            ? callback(smtpError("Service not available, try again later", 421))
            : callback(),
        onAuth: (auth, _session, callback) =>
          options.login !== undefined && auth.username === options.login.user && auth.password === options.login.pass
            ? callback(null, { user: auth.username })
            : callback(smtpError("Authentication credentials invalid", 535)),
        // Connections opened before the switch are refused too.
        onMailFrom: (_address, _session, callback) =>
          mode === "unavailable"
            ? callback(smtpError("Service not available, try again later", 421))
            : callback(),
        onRcptTo: (_address, _session, callback) =>
          mode === "reject" ? callback(smtpError("Mailbox unavailable", 550)) : callback(),
        onData: (stream: SMTPServerDataStream, session: SMTPServerSession, callback) => {
          dataStarted++
          notify()
          const chunks: Array<Buffer> = []
          stream.on("data", (chunk: Buffer) => chunks.push(chunk))
          stream.on("end", () => {
            const finish = () => {
              received.push({
                from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
                to: session.envelope.rcptTo.map((r) => r.address),
                user: typeof session.user === "string" ? session.user : undefined,
                raw: Buffer.concat(chunks).toString("utf8")
              })
              callback()
              notify()
            }
            if (mode === "hold") held.push(finish)
            else if (mode === "slow") {
              const timer = setTimeout(() => {
                timers.delete(timer)
                finish()
              }, options.slowMillis ?? 300)
              timers.add(timer)
            } else finish()
          })
        }
      })

    let server = makeServer()
    const listen = (port: number) =>
      Effect.async<number>((resume) => {
        server.listen(port, "127.0.0.1", () => {
          const address = server.server.address()
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : port))
        })
      })
    const close = Effect.async<void>((resume) => {
      // Slow answers still pending are never given.
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      held = []
      for (const connection of server.connections) connection.close()
      server.close(() => resume(Effect.void))
    })

    const port = yield* listen(0)
    let running = true
    yield* Effect.addFinalizer(() => (running ? close : Effect.void))

    const waitUntil = (done: () => boolean, what: string, timeoutMillis: number) =>
      Effect.async<void>((resume) => {
        const timer = setTimeout(
          () => resume(Effect.dieMessage(`SMTP peer: timed out waiting for ${what}`)),
          timeoutMillis
        )
        const check = () => {
          if (done()) {
            clearTimeout(timer)
            resume(Effect.void)
          } else waiters.push(check)
        }
        check()
      })

    const credentials =
      options.login === undefined
        ? ""
        : `${encodeURIComponent(options.login.user)}:${encodeURIComponent(options.login.pass)}@`

    return {
      port,
      url: `smtp://${credentials}127.0.0.1:${port}`,
      received: () => [...received],
      dataStarted: () => dataStarted,
      setMode: (next) =>
        Effect.sync(() => {
          mode = next
        }),
      releaseHeld: Effect.sync(() => {
        const answers = held
        held = []
        for (const answer of answers) answer()
      }),
      stop: Effect.suspend(() => {
        if (!running) return Effect.void
        running = false
        return close
      }),
      start: Effect.suspend(() => {
        if (running) return Effect.void
        running = true
        server = makeServer()
        return Effect.asVoid(listen(port))
      }),
      waitFor: (count, timeoutMillis = 5_000) =>
        Effect.map(waitUntil(() => received.length >= count, `${count} message(s)`, timeoutMillis), () => [
          ...received
        ]),
      waitForData: (count, timeoutMillis = 5_000) =>
        waitUntil(() => dataStarted >= count, `the data of ${count} message(s)`, timeoutMillis)
    } satisfies SmtpPeer
  })
