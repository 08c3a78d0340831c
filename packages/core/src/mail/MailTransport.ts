/**
 * The mail port: how a message leaves the service. Adapters: SMTP (`@lagrello/core/smtp`) and
 * the development mailbox (`layerDevMailbox`).
 *
 * @since 0.0.0
 */
import type * as Effect from "effect/Effect"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import type { MailMessage } from "./Message.js"

/**
 * A message was not delivered. The message is safe to log and to store in the outbox: it names
 * what failed (connection, timeout, the SMTP reply code) and never holds the message body, its
 * link or any credential.
 *
 * - `permanent: true`: the server refused this message for good (an SMTP 5xx reply to it): sending
 *   it again would be refused again.
 * - `permanent: false`: the failure may pass (server down, timeout, 4xx reply, refused login):
 *   the outbox tries again later.
 *
 * @since 0.0.0
 * @category errors
 */
export class MailDeliveryError extends Schema.TaggedError<MailDeliveryError>()("MailDeliveryError", {
  message: Schema.String,
  permanent: Schema.Boolean
}) {}

/**
 * The operations of the {@link MailTransport} service.
 * @since 0.0.0
 */
export interface MailTransportService {
  /** Hands one message to the mail system; succeeds once it has been accepted for delivery. */
  readonly send: (message: MailMessage) => Effect.Effect<void, MailDeliveryError>
}

/**
 * Delivers e-mail messages. The outbox worker is its only caller in the service: operations
 * write messages to the outbox and never send directly.
 * @since 0.0.0
 * @category tags
 */
export class MailTransport extends Context.Tag("@lagrello/core/MailTransport")<MailTransport, MailTransportService>() {}
