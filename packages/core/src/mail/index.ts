/**
 * Mail: the messages, the transport port, the development mailbox and the outbox worker. The
 * SMTP transport is the separate entry point `@lagrello/core/smtp` (it loads nodemailer).
 *
 * @since 0.0.0
 */
export { devMailboxAnnotation, layerDevMailbox, type MailboxEntry, readMailbox } from "./DevMailbox.js"
export { MailDeliveryError, MailTransport, type MailTransportService } from "./MailTransport.js"
export { MailMessage, magicLinkMessage, messageCode, messageLinks } from "./Message.js"
export { openOutboxMessage, sealOutboxMessage, UnreadableMessage } from "./OutboxMessage.js"
export {
  backoffDelay,
  type BackoffOptions,
  deliverDue,
  type DeliveryOptions,
  type DeliveryReport,
  layerOutboxWorker,
  type OutboxWorkerOptions,
  runOutboxWorker
} from "./OutboxWorker.js"
// The URL form of the SMTP settings, without nodemailer (the transport is `@lagrello/core/smtp`).
export { parseSmtpUrl, SmtpConfigError, type SmtpEndpoint } from "./smtp/SmtpUrl.js"
