/**
 * The development mailbox (SPEC 4.2): what the service uses when no SMTP server is configured.
 * Nothing leaves the machine. The outbox worker "delivers" each message by printing its
 * recipient and links on the console, and the demo's mailbox page shows the outbox itself
 * ({@link readMailbox}).
 *
 * **For development only.** It deliberately logs live sign-in links, which every other part of
 * the service keeps out of its logs (SPEC 3.4): anyone who reads the console can sign in as the
 * recipient.
 *
 * @since 0.0.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Unavailable } from "../domain/errors.js"
import type { Sealer } from "../crypto/Sealer.js"
import type { OutboxStatus } from "../storage/Storage.js"
import { Storage } from "../storage/Storage.js"
import { MailTransport } from "./MailTransport.js"
import type { MailMessage } from "./Message.js"
import { messageLinks } from "./Message.js"
import { openOutboxMessage } from "./OutboxMessage.js"

/**
 * The log annotation (`mailbox=development`) on the development mailbox's lines, so that they
 * can be told apart from (and filtered out of) the service's other logs.
 * @since 0.0.0
 */
export const devMailboxAnnotation = { mailbox: "development" } as const

/**
 * The development transport: "delivers" a message by logging one info line with its recipient
 * and the links in its text (`Effect.logInfo`, annotated `mailbox=development`); nothing else of
 * the message (subject, bodies) is logged, and nothing is sent.
 *
 * This is the one place where the service logs a live link, on purpose: never use it in
 * production.
 * @since 0.0.0
 * @category layers
 */
export const layerDevMailbox: Layer.Layer<MailTransport> = Layer.succeed(MailTransport, {
  send: (message) => {
    const links = messageLinks(message)
    return Effect.logInfo(
      `Development mailbox: message to ${message.to}: ${links.length > 0 ? links.join(" ") : "(no link)"}`
    ).pipe(Effect.annotateLogs(devMailboxAnnotation))
  }
})

/**
 * A message of the development mailbox.
 * @since 0.0.0
 */
export interface MailboxEntry {
  readonly id: string
  readonly createdAt: number
  /** When the link in it expires. */
  readonly expiresAt: number
  readonly status: OutboxStatus
  readonly message: MailMessage
}

/**
 * The newest `limit` messages of the outbox, opened, newest first: what the demo's mailbox page
 * shows. Messages that do not open (e.g. sealed under a key no longer configured) are skipped.
 * @since 0.0.0
 */
export const readMailbox = (
  limit: number
): Effect.Effect<ReadonlyArray<MailboxEntry>, Unavailable, Storage | Sealer> =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const records = yield* storage.listOutbox(limit)
    const entries = yield* Effect.forEach(records, (record) =>
      openOutboxMessage(record).pipe(
        Effect.map((message): MailboxEntry | undefined => ({
          id: record.id,
          createdAt: record.createdAt,
          expiresAt: record.expiresAt,
          status: record.status,
          message
        })),
        Effect.orElseSucceed(() => undefined)
      )
    )
    return entries.filter((entry): entry is MailboxEntry => entry !== undefined)
  })
