/**
 * How a message is kept in the outbox: the JSON of a {@link MailMessage}, sealed with the
 * {@link Sealer} (AES-256-GCM) under the message id as associated data, so that a sealed message
 * copied to another row does not open.
 *
 * @since 0.0.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Sealer } from "../crypto/Sealer.js"
import { MailMessage } from "./Message.js"

/**
 * A sealed outbox message did not open (changed, sealed under a key no longer in the keyring,
 * or bound to another id) or did not hold a message. The message says which, and never holds
 * any of the content.
 * @since 0.0.0
 * @category errors
 */
export class UnreadableMessage extends Data.TaggedError("UnreadableMessage")<{ readonly message: string }> {}

const decodeMessage = Schema.decodeUnknown(Schema.parseJson(MailMessage))

/**
 * Seals a message for the outbox row `id` (what `MagicLink.send` writes).
 * @since 0.0.0
 */
export const sealOutboxMessage = (message: MailMessage, id: string): Effect.Effect<string, never, Sealer> =>
  Effect.flatMap(Sealer, (sealer) => sealer.seal(JSON.stringify(message), id))

/**
 * Opens the sealed message of the outbox row `id`.
 * @since 0.0.0
 */
export const openOutboxMessage = (record: {
  readonly id: string
  readonly sealed: string
}): Effect.Effect<MailMessage, UnreadableMessage, Sealer> =>
  Effect.gen(function* () {
    const sealer = yield* Sealer
    const json = yield* sealer
      .open(record.sealed, record.id)
      .pipe(
        Effect.mapError(
          (error) => new UnreadableMessage({ message: `The sealed message did not open (${error.reason})` })
        )
      )
    // The parse error would quote the content: replace it with a fixed text.
    return yield* decodeMessage(json).pipe(
      Effect.mapError(() => new UnreadableMessage({ message: "The sealed message is not a mail message" }))
    )
  })
