/**
 * The SMTP transport's own message text (RawMessage.ts, mime.ts): what a real `smtp-server`
 * receives parses with mailparser to the same sender, recipient, subject, date, text and HTML as
 * the message nodemailer's MailComposer built before; long lines and non-ASCII text survive;
 * a header value with CR or LF is refused.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit } from "effect"
import { simpleParser } from "mailparser"
import type { AddressObject, ParsedMail } from "mailparser"
import MailComposer from "nodemailer/lib/mail-composer"
import { MailTransport } from "../../src/mail/MailTransport.js"
import type { MailMessage } from "../../src/mail/Message.js"
import { magicLinkMessage } from "../../src/mail/Message.js"
import { encodedWords, quotedPrintable, unstructuredHeader } from "../../src/mail/smtp/mime.js"
import { buildRawMessage, makeSender, messageDate } from "../../src/mail/smtp/RawMessage.js"
import { layerSmtp } from "../../src/mail/smtp/index.js"
import { smtpPeer } from "./smtpPeer.js"

const parse = (raw: string | Buffer) => Effect.promise(() => simpleParser(raw))

const addresses = (field: AddressObject | ReadonlyArray<AddressObject> | undefined) =>
  (Array.isArray(field) ? field : field === undefined ? [] : [field]).flatMap((a: AddressObject) =>
    a.value.map((v) => ({ name: v.name, address: v.address }))
  )

/** What a reader sees of a message. */
const seen = (mail: ParsedMail) => ({
  from: addresses(mail.from),
  to: addresses(mail.to),
  subject: mail.subject,
  text: mail.text,
  html: mail.html
})

/** The message as nodemailer's MailComposer built it before (the transport's old path). */
const composed = (from: string, message: MailMessage) =>
  Effect.promise(() => new MailComposer({ from, ...message }).compile().build())

const lines = (raw: string) => raw.split("\r\n")

const longWord = "x".repeat(1500)
const nonAscii = "Grüße aus Åland, 日本語のテキスト, emoji 🎉🔑; ".repeat(12)

/** A message with everything that must survive: long lines, non-ASCII text and subject, HTML. */
const hardMessage: MailMessage = {
  to: "alice@example.com",
  subject: "Votre lien de connexion pour Société Générale: 日本 🎉 ".repeat(3).trim(),
  text: `Line one\n${longWord}\n${nonAscii}\ntrailing space \nend with = and .\n.starts with a dot`,
  html: `<p>${nonAscii}</p>\n<p><a href="https://app.example.com/login/${"A".repeat(43)}?a=1&amp;b=2">Sign in</a></p>\n<p>${longWord}</p>`
}

const from = "Åsa Lindqvist, Acme <login@acme.example>"

describe("the message text", () => {
  it("quoted-printable: lines of at most 76 characters, CRLF, trailing spaces escaped", () => {
    const encoded = quotedPrintable(`${longWord}\n${nonAscii}\nend \t`)
    expect(encoded).not.toMatch(/(^|[^\r])\n/)
    for (const line of lines(encoded)) expect(line.length).toBeLessThanOrEqual(76)
    // Only the last whitespace of a line needs escaping: it ends the line.
    expect(encoded.endsWith("end =09")).toBe(true)
    expect(quotedPrintable("a \nb")).toBe("a=20\r\nb")
    // No escape is split by a soft line break.
    expect(encoded).not.toMatch(/=[0-9A-F]?=\r\n/)
  })

  it("encoded-words: at most 64 characters each (76 a line with its header name), a character never split", () => {
    const words = encodedWords(nonAscii).split("\r\n ")
    expect(words.length).toBeGreaterThan(1)
    for (const word of words) {
      expect(word.length).toBeLessThanOrEqual(64)
      const decoded = Buffer.from(word.slice(10, -2), "base64")
      expect(decoded.toString("utf8")).not.toContain("\ufffd")
    }
    expect(words.map((w) => Buffer.from(w.slice(10, -2), "base64").toString("utf8")).join("")).toBe(nonAscii)
  })

  it("short ASCII subjects stay as they are; long ones are folded at spaces", () => {
    expect(unstructuredHeader("Subject", "Your sign-in link for Acme")).toBe("Subject: Your sign-in link for Acme")
    const long = unstructuredHeader("Subject", "word ".repeat(60).trim())
    for (const line of lines(long)) expect(line.length).toBeLessThanOrEqual(78)
    expect(long.replace(/\r\n/g, "")).toBe(`Subject: ${"word ".repeat(60).trim()}`)
    // A word too long for a header line is encoded (and so folded).
    const huge = unstructuredHeader("Subject", `Hi ${"y".repeat(1200)}`)
    for (const line of lines(huge)) expect(line.length).toBeLessThanOrEqual(78)
    // Text that would read as an encoded-word is encoded.
    expect(unstructuredHeader("Subject", "=?UTF-8?B?SGk=?=")).toMatch(/^Subject: =\?UTF-8\?B\?/)
  })

  it("the Date header is RFC 5322 UTC", () => {
    expect(messageDate(Date.UTC(2026, 11, 1, 16, 6, 29))).toBe("Tue, 01 Dec 2026 16:06:29 +0000")
  })

  it("refuses CR, LF and other control characters in header values, and addresses that are not one", () => {
    const sender = Either.getOrThrow(makeSender("Acme", "login@acme.example"))
    const build = (message: Partial<MailMessage>) =>
      buildRawMessage(sender, { ...hardMessage, ...message }, { dateMillis: 0, id: "0123456789abcdef0123456789abcdef" })
    for (const subject of ["Hi\r\nBcc: evil@example.com", "Hi\nBcc: evil@example.com", "Hi\rthere", "nul\u0000"]) {
      const refused = build({ subject })
      expect(Either.isLeft(refused) && refused.left.message).toBe("the subject holds a control character")
    }
    for (const to of ["alice@example.com\r\nBcc: evil@example.com", "Alice <alice@example.com>", "alice", "a b@example.com", "a@b@example.com"]) {
      const refused = build({ to })
      expect(Either.isLeft(refused) && refused.left.message).toBe("the recipient is not an ASCII e-mail address")
    }
    expect(Either.isLeft(makeSender("Acme\r\nBcc: evil@example.com", "login@acme.example"))).toBe(true)
    expect(Either.isLeft(makeSender("Acme", "lögin@acme.example"))).toBe(true)
    // A non-ASCII domain is written in punycode.
    expect(Either.getOrThrow(makeSender(undefined, "login@bücher.example")).address).toBe("login@xn--bcher-kva.example")
  })

  it.effect("parses to the same message as nodemailer's composer built", () =>
    Effect.gen(function* () {
      const sender = Either.getOrThrow(makeSender("Åsa Lindqvist, Acme", "login@acme.example"))
      for (const message of [hardMessage, magicLinkMessage({ to: "bob@example.com", link: `https://app.example.com/login/${"b".repeat(43)}`, tenantName: "Acme & Söhne", lifetimeMinutes: 15, code: "123456" })]) {
        const built = Either.getOrThrow(buildRawMessage(sender, message, { dateMillis: Date.UTC(2026, 11, 1, 16, 6, 29), id: "0123456789abcdef0123456789abcdef" }))
        for (const line of lines(built.raw)) expect(line.length).toBeLessThanOrEqual(998)
        // Header lines with encoded-words stay within 76 characters (RFC 2047).
        for (const line of lines(built.raw.slice(0, built.raw.indexOf("\r\n\r\n")))) {
          if (line.includes("=?")) expect(line.length).toBeLessThanOrEqual(76)
        }
        expect(built.raw).not.toMatch(/(^|[^\r])\n/)
        const ours = yield* parse(built.raw)
        const theirs = yield* parse(yield* composed(from, message))
        expect(seen(ours)).toEqual(seen(theirs))
        expect(seen(ours)).toMatchObject({
          from: [{ name: "Åsa Lindqvist, Acme", address: "login@acme.example" }],
          to: [{ address: message.to }],
          subject: message.subject,
          text: message.text
        })
        expect(ours.html).toBe(message.html)
        expect(ours.date?.toISOString()).toBe("2026-12-01T16:06:29.000Z")
        expect(ours.messageId).toBe("<0123456789abcdef0123456789abcdef@acme.example>")
        expect(built.envelope).toEqual({ from: "login@acme.example", to: [message.to] })
      }
    }))

  it.effect("a long non-ASCII sender name is folded, every line within 76 characters", () =>
    Effect.gen(function* () {
      const name = "Åsa Lindqvist från Acme Aktiebolag, Sverige"
      const sender = Either.getOrThrow(makeSender(name, "very.long.sign-in.address@login.acme.example"))
      expect(sender.header.split("\r\n").length).toBeGreaterThan(1)
      // An address that does not fit after the name's last word goes on a line of its own.
      const long = Either.getOrThrow(makeSender("Åsa", `${"a".repeat(60)}@acme.example`)).header
      expect(long).toBe(`=?UTF-8?B?w4VzYQ==?=\r\n <${"a".repeat(60)}@acme.example>`)
      const built = Either.getOrThrow(buildRawMessage(sender, hardMessage, { dateMillis: 0, id: "0123456789abcdef0123456789abcdef" }))
      for (const line of lines(built.raw.slice(0, built.raw.indexOf("\r\n\r\n")))) {
        if (line.includes("=?") || line.includes("<very")) expect(line.length).toBeLessThanOrEqual(76)
      }
      const parsed = yield* parse(built.raw)
      expect(addresses(parsed.from)).toEqual([{ name, address: "very.long.sign-in.address@login.acme.example" }])
    }))
})

describe("the SMTP transport's messages", () => {
  it.scopedLive("arrive over SMTP with the sender, recipient, subject, date, text and HTML", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      yield* Effect.gen(function* () {
        const transport = yield* MailTransport
        const before = Date.now()
        yield* transport.send(hardMessage)
        const [mail] = yield* peer.waitFor(1)
        expect(mail!.from).toBe("login@acme.example")
        expect(mail!.to).toEqual(["alice@example.com"])
        for (const line of lines(mail!.raw)) expect(line.length).toBeLessThanOrEqual(998)
        const parsed = yield* parse(mail!.raw)
        expect(seen(parsed)).toEqual(seen(yield* parse(yield* composed(from, hardMessage))))
        expect(parsed.text).toBe(hardMessage.text)
        expect(parsed.html).toBe(hardMessage.html)
        expect(parsed.subject).toBe(hardMessage.subject)
        // The header has whole seconds.
        expect(parsed.date!.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000)
        expect(parsed.date!.getTime()).toBeLessThanOrEqual(Date.now())
        expect(parsed.messageId).toMatch(/^<[0-9a-f]{32}@acme\.example>$/)
      }).pipe(Effect.provide(layerSmtp({ url: peer.url, from })))
    }))

  it.scopedLive("a subject with CR/LF is refused for good, and nothing is sent", () =>
    Effect.gen(function* () {
      const peer = yield* smtpPeer()
      yield* Effect.gen(function* () {
        const transport = yield* MailTransport
        const exit = yield* Effect.exit(transport.send({ ...hardMessage, subject: "Hi\r\nBcc: evil@example.com" }))
        expect(exit).toEqual(Exit.fail(expect.objectContaining({ _tag: "MailDeliveryError", permanent: true })))
        expect(Exit.isFailure(exit) && String(exit.cause)).not.toContain("evil")
        // The next message goes out: the refused one never reached the server.
        yield* transport.send(hardMessage)
        const received = yield* peer.waitFor(1)
        expect(received).toHaveLength(1)
        expect(received[0]!.raw).not.toContain("evil")
      }).pipe(Effect.provide(layerSmtp({ url: peer.url, from })))
    }))
})
