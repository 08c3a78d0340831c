/**
 * `GET /dev/mailbox`: the development mailbox (no SMTP server configured): the outbox messages,
 * newest first, with their links and codes (SPEC 5.2) and what is known of each: the outbox status, the expiry, and
 * whether a newer link went to the same address since (a new link revokes the user's earlier
 * unused ones). Whether a link was used is not known here: the core keeps that with the link's
 * hash, and no operation reads it without consuming it; the page says so instead of showing a
 * used link as live. Registered only while the demo listens on a loopback address (or with
 * `LAGRELLO_DEV_MAILBOX=1`). The links are live credentials: the page is never cached and sends
 * no referrer.
 */
import type { MailboxEntry } from "@lagrello/core"
import { messageCode, messageLinks, readMailbox } from "@lagrello/core"
import { LagrelloService } from "@lagrello/nest"
import { Controller, Get, Query } from "@nestjs/common"
import { escapeHtml, page } from "./html.js"
import { PageHeaders } from "./pages.js"

const defaultLimit = 50
const maxLimit = 500

const limitOf = (text: unknown): number => {
  const n = typeof text === "string" && /^\d{1,4}$/.test(text) ? Number(text) : defaultLimit
  return Math.min(Math.max(n, 1), maxLimit)
}

const time = (millis: number) => new Date(millis).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC")

/** What the page can say of a message's link. */
export const linkState = (entry: MailboxEntry, now: number, superseded: boolean): { readonly state: string; readonly live: boolean } => {
  if (entry.status === "failed") return { state: "failed: not delivered", live: false }
  if (entry.expiresAt <= now || entry.status === "expired") return { state: "expired", live: false }
  // (A status of "superseded" too, should the outbox mark the messages a newer link replaced.)
  if (superseded || (entry.status as string) === "superseded") {
    return { state: "superseded: a newer link was sent to this address", live: false }
  }
  if (entry.status !== "sent" && entry.status !== "pending") return { state: String(entry.status), live: false }
  const delivered = entry.status === "sent" ? "delivered" : "waiting for delivery"
  return { state: `${delivered}; works until ${time(entry.expiresAt)} unless it was used`, live: true }
}

const row = (entry: MailboxEntry, now: number, superseded: boolean): string => {
  const links = messageLinks(entry.message)
  const code = messageCode(entry.message)
  const { state, live } = linkState(entry, now, superseded)
  return [
    `<tr class="${live ? "live" : "dead"}">`,
    `<td>${escapeHtml(time(entry.createdAt))}</td>`,
    `<td>${escapeHtml(entry.message.to)}</td>`,
    `<td>${escapeHtml(entry.message.subject)}</td>`,
    `<td class="links">${
      links.length === 0
        ? '<span class="muted">(no link)</span>'
        : live
          ? links.map((link) => `<a href="${escapeHtml(link)}" rel="noreferrer">${escapeHtml(link)}</a>`).join("<br>")
          : // Shown, not linked: opening it would only show that it no longer works.
            links.map((link) => `<span class="muted">${escapeHtml(link)}</span>`).join("<br>")
    }</td>`,
    `<td class="code">${code === undefined ? "" : live ? escapeHtml(code) : `<span class="muted">${escapeHtml(code)}</span>`}</td>`,
    `<td class="state">${escapeHtml(state)}</td>`,
    "</tr>"
  ].join("")
}

/** Newest first; a message is superseded when a newer one went to the same address. */
const rows = (entries: ReadonlyArray<MailboxEntry>, now: number): Array<string> => {
  const seen = new Set<string>()
  return [...entries]
    .sort((a, b) => b.createdAt - a.createdAt)
    .map((entry) => {
      const address = entry.message.to.toLowerCase()
      const superseded = seen.has(address)
      seen.add(address)
      return row(entry, now, superseded)
    })
}

export const renderMailbox = (entries: ReadonlyArray<MailboxEntry>, now: number): string =>
  page(
    "Development mailbox",
    [
      "<h1>Development mailbox</h1>",
      '<p class="muted">No SMTP server is configured (SMTP_URL): messages stay here instead of being sent. ' +
        "Anyone who can open this page can sign in as these users: never run the demo like this in production.</p>",
      '<p class="muted">A link works once: this page cannot tell whether one was used already. Only the newest link to an address can still work.</p>',
      entries.length === 0
        ? "<p>No messages yet.</p>"
        : [
            "<table>",
            "<thead><tr><th>Sent</th><th>To</th><th>Subject</th><th>Links</th><th>Code</th><th>State</th></tr></thead>",
            "<tbody>",
            ...rows(entries, now),
            "</tbody>",
            "</table>"
          ].join("\n")
    ].join("\n")
  )

@Controller("dev/mailbox")
export class MailboxController {
  constructor(private readonly lagrello: LagrelloService) {}

  @Get()
  @PageHeaders()
  async mailbox(@Query("limit") limit: unknown): Promise<string> {
    const entries = await this.lagrello.run(readMailbox(limitOf(limit)))
    return renderMailbox(entries, Date.now())
  }
}
