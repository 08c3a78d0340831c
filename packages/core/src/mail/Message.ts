/**
 * The e-mail messages the service sends, and how a magic-link message is written.
 *
 * @since 0.0.0
 */
import * as Schema from "effect/Schema"

/**
 * A message ready for a transport. The sender is the transport's configuration.
 * @since 0.0.0
 */
export const MailMessage = Schema.Struct({
  to: Schema.String,
  subject: Schema.String,
  text: Schema.String,
  html: Schema.String
})

/** @since 0.0.0 */
export type MailMessage = typeof MailMessage.Type

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

/**
 * The sign-in message carrying a magic link.
 * @since 0.0.0
 */
export const magicLinkMessage = (options: {
  readonly to: string
  readonly link: string
  readonly tenantName: string
  readonly lifetimeMinutes: number
}): MailMessage => {
  const { lifetimeMinutes, link, tenantName, to } = options
  const minutes = `${lifetimeMinutes} minute${lifetimeMinutes === 1 ? "" : "s"}`
  return {
    to,
    subject: `Your sign-in link for ${tenantName}`,
    text: [
      `Use this link to sign in to ${tenantName}:`,
      "",
      link,
      "",
      `It works once and expires in ${minutes}. If you did not ask for it, ignore this message.`
    ].join("\n"),
    html: [
      `<p>Use this link to sign in to ${escapeHtml(tenantName)}:</p>`,
      `<p><a href="${escapeHtml(link)}">Sign in to ${escapeHtml(tenantName)}</a></p>`,
      `<p>It works once and expires in ${minutes}. If you did not ask for it, ignore this message.</p>`
    ].join("\n")
  }
}

const LINK = /https?:\/\/[^\s<>"']+/g

/**
 * The http(s) links in a message's text body, in order and without repeats: what the development
 * mailbox shows of a message. They are live credentials: never log them anywhere else.
 * @since 0.0.0
 */
export const messageLinks = (message: MailMessage): ReadonlyArray<string> => [...new Set(message.text.match(LINK) ?? [])]
