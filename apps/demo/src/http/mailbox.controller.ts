/**
 * `GET /dev/mailbox`: the development mailbox (no SMTP server configured): the outbox messages,
 * newest first, with their links. Registered only in that mode. The links are live credentials:
 * the page is never cached and sends no referrer.
 */
import type { MailboxEntry } from "@lagrello/core"
import { messageLinks, readMailbox } from "@lagrello/core"
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

const row = (entry: MailboxEntry, now: number): string => {
  const links = messageLinks(entry.message)
  const expired = entry.expiresAt <= now
  return [
    "<tr>",
    `<td>${escapeHtml(time(entry.createdAt))}</td>`,
    `<td>${escapeHtml(entry.message.to)}</td>`,
    `<td>${escapeHtml(entry.message.subject)}</td>`,
    `<td class="links">${
      links.length === 0
        ? '<span class="muted">(no link)</span>'
        : links.map((link) => `<a href="${escapeHtml(link)}" rel="noreferrer">${escapeHtml(link)}</a>`).join("<br>")
    }</td>`,
    `<td>${escapeHtml(expired ? "expired" : `expires ${time(entry.expiresAt)}`)}</td>`,
    "</tr>"
  ].join("")
}

export const renderMailbox = (entries: ReadonlyArray<MailboxEntry>, now: number): string =>
  page(
    "Development mailbox",
    [
      "<h1>Development mailbox</h1>",
      '<p class="muted">No SMTP server is configured (SMTP_URL): messages stay here instead of being sent. ' +
        "Anyone who can open this page can sign in as these users: never run the demo like this in production.</p>",
      entries.length === 0
        ? "<p>No messages yet.</p>"
        : [
            "<table>",
            "<thead><tr><th>Sent</th><th>To</th><th>Subject</th><th>Links</th><th>Expires</th></tr></thead>",
            "<tbody>",
            ...[...entries].sort((a, b) => b.createdAt - a.createdAt).map((entry) => row(entry, now)),
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
