/**
 * `@lagrello/core/smtp`: the SMTP mail transport (nodemailer). A separate entry point, so that
 * importing `@lagrello/core` does not load nodemailer.
 *
 * @since 0.0.0
 */
export {
  layerSmtp,
  type SmtpConfig,
  smtpConfig,
  smtpDefaults,
  type SmtpOptions,
  type SmtpTlsOptions,
  toDeliveryError
} from "./SmtpTransport.js"
export { parseSmtpUrl, SmtpConfigError, type SmtpEndpoint } from "./SmtpUrl.js"
export type { Sender } from "./RawMessage.js"
