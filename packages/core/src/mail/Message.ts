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
 * The line of a sign-in message's text that carries its code (SPEC 5.2), and how to find it.
 */
const codeLine = (code: string) => `Or enter this code: ${code}`
const CODE = /^Or enter this code: (\d{4,10})$/m

/**
 * The sign-in message carrying a magic link and, when codes are on, its code (SPEC 5.2: for a
 * person who reads the mail on another device than the one they sign in on). A handoff's message
 * (SPEC 5.3) asks to open the link on any device to confirm a sign-in started on another one.
 * @since 0.0.0
 */
export const magicLinkMessage = (options: {
  readonly to: string
  readonly link: string
  readonly tenantName: string
  readonly lifetimeMinutes: number
  readonly code?: string | undefined
  readonly handoff?: boolean | undefined
}): MailMessage => {
  const { code, handoff, lifetimeMinutes, link, tenantName, to } = options
  const minutes = `${lifetimeMinutes} minute${lifetimeMinutes === 1 ? "" : "s"}`
  const intro = handoff
    ? `Someone, hopefully you, started to sign in to ${tenantName} on a device that is now waiting. ` +
      "Open this link on any device (this phone, say) to confirm it: you will pick the number that device shows."
    : `Use this link to sign in to ${tenantName}:`
  const codeHint = handoff ? "on the device that is waiting" : "where you asked to sign in"
  const validity = code === undefined ? `It works once and expires in ${minutes}.` : `The link and the code work once, together, and expire in ${minutes}.`
  const ignore = handoff
    ? "If you did not start a sign-in, ignore this message: nobody can finish it without it."
    : "If you did not ask for it, ignore this message."
  return {
    to,
    subject: `Your sign-in link for ${tenantName}`,
    text: [
      intro,
      "",
      link,
      "",
      ...(code === undefined ? [] : [codeLine(code), `(Type it ${codeHint}.)`, ""]),
      `${validity} ${ignore}`
    ].join("\n"),
    html: [
      `<p>${escapeHtml(intro)}</p>`,
      `<p><a href="${escapeHtml(link)}">${handoff ? "Confirm the sign-in" : "Sign in"} to ${escapeHtml(tenantName)}</a></p>`,
      ...(code === undefined
        ? []
        : [
            `<p>Or enter this code ${escapeHtml(codeHint)}:</p>`,
            `<p style="font-size:1.5em;font-family:monospace;letter-spacing:.2em"><strong>${escapeHtml(code)}</strong></p>`
          ]),
      `<p>${escapeHtml(validity)} ${escapeHtml(ignore)}</p>`
    ].join("\n")
  }
}

/**
 * The code in a sign-in message's text, if it carries one: what the development mailbox shows
 * beside the links. A live credential: never log it.
 * @since 0.0.0
 */
export const messageCode = (message: MailMessage): string | undefined => CODE.exec(message.text)?.[1]

const LINK = /https?:\/\/[^\s<>"']+/g

/**
 * The http(s) links in a message's text body, in order and without repeats: what the development
 * mailbox shows of a message. They are live credentials: never log them anywhere else.
 * @since 0.0.0
 */
export const messageLinks = (message: MailMessage): ReadonlyArray<string> => [...new Set(message.text.match(LINK) ?? [])]
