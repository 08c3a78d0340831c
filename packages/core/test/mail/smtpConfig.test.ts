/**
 * Reading the SMTP configuration, and classifying nodemailer's failures.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Layer } from "effect"
import { layerSmtp, parseSmtpUrl, smtpConfig, toDeliveryError } from "../../src/mail/smtp/index.js"

const left = <A, E>(either: Either.Either<A, E>): E => {
  if (Either.isRight(either)) throw new Error("expected a failure")
  return either.left
}

describe("SMTP URL", () => {
  it("reads host, port, TLS mode and percent-encoded credentials", () => {
    expect(parseSmtpUrl("smtp://mail.example.com")).toEqual(
      Either.right({ host: "mail.example.com", port: 587, secure: false, auth: undefined })
    )
    expect(parseSmtpUrl("smtps://mail.example.com")).toEqual(
      Either.right({ host: "mail.example.com", port: 465, secure: true, auth: undefined })
    )
    expect(parseSmtpUrl(" smtps://me%40example.com:p%3Ass%2Fw@mail.example.com:2465/ ")).toEqual(
      Either.right({ host: "mail.example.com", port: 2465, secure: true, auth: { user: "me@example.com", pass: "p:ss/w" } })
    )
    expect(parseSmtpUrl("smtp://[::1]:25")).toEqual(Either.right({ host: "::1", port: 25, secure: false, auth: undefined }))
  })

  it("refuses what it cannot use, without repeating the password", () => {
    const cases: ReadonlyArray<[string, RegExp]> = [
      ["", /empty/],
      ["mail.example.com", /not a valid URL/],
      ["http://user:hunter2-secret@mail.example.com", /smtp:\/\/ .* or smtps:\/\//],
      ["smtp://user:hunter2-secret@mail.example.com/inbox", /path/],
      ["smtp://user:hunter2-secret@mail.example.com?pool=true", /query parameters/],
      ["smtp://user@mail.example.com", /no password/],
      ["smtp://:hunter2-secret@mail.example.com", /no user name/],
      ["smtp://user:hunter2-secret%E0%A4%A@mail.example.com", /percent-encoded/],
      ["smtp://user:hunter2-secret@mail.example.com:99999", /not a valid URL/]
    ]
    for (const [url, expected] of cases) {
      const error = left(parseSmtpUrl(url))
      expect(error._tag).toBe("SmtpConfigError")
      expect(error.message).toMatch(expected)
      expect(error.message).not.toContain("hunter2")
    }
  })

  it("parses the sender once: one address, its display name encoded when it is not plain ASCII", () => {
    for (const from of ["a@b, c@d", "Acme", "Acme <>", "Acme <lögin@acme.example>"]) {
      expect(left(smtpConfig({ url: "smtp://h", from })).message).toMatch(/sender \(from\)/)
    }
    const sender = (from: string) => Either.getOrThrow(smtpConfig({ url: "smtp://h", from })).sender
    expect(sender("Acme <login@acme.example>")).toEqual({
      address: "login@acme.example",
      domain: "acme.example",
      header: "Acme <login@acme.example>"
    })
    expect(sender("\"Acme, Inc.\" <login@acme.example>").header).toBe("\"Acme, Inc.\" <login@acme.example>")
    expect(sender("Åsa <login@bücher.example>")).toEqual({
      address: "login@xn--bcher-kva.example",
      domain: "xn--bcher-kva.example",
      header: "=?UTF-8?B?w4VzYQ==?= <login@xn--bcher-kva.example>"
    })
  })

  it("checks the other options", () => {
    expect(left(smtpConfig({ url: "smtp://h", from: "" })).message).toMatch(/from/)
    expect(left(smtpConfig({ url: "smtp://h", from: "a@b\r\nBcc: x@y" })).message).toMatch(/from/)
    expect(left(smtpConfig({ url: "smtp://h", from: "a@b", socketTimeoutMillis: 0 })).message).toMatch(
      /socketTimeoutMillis/
    )
    expect(left(smtpConfig({ url: "smtp://h", from: "a@b", maxConnections: 1.5 })).message).toMatch(/maxConnections/)
    const config = Either.getOrThrow(
      smtpConfig({ url: "smtp://u:p@h", from: " a@b ", tls: { requireStartTls: true, rejectUnauthorized: false } })
    )
    expect(config.from).toBe("a@b")
    expect(config.sender).toEqual({ address: "a@b", domain: "b", header: "a@b" })
    expect(config.sendTimeoutMillis).toBe(60_000)
    expect(config.transport).toMatchObject({
      pool: true,
      maxConnections: 20,
      host: "h",
      port: 587,
      secure: false,
      auth: { user: "u", pass: "p" },
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
      logger: false,
      debug: false
    })
  })

  it.effect("layerSmtp fails to build on a bad configuration", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Layer.build(layerSmtp({ url: "smtp://user:hunter2@", from: "a@b" })).pipe(Effect.scoped))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(JSON.stringify(exit)).toContain("SmtpConfigError")
      expect(JSON.stringify(exit)).not.toContain("hunter2")
    }))
})

describe("nodemailer failures", () => {
  const smtpError = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields["message"] ?? "x")), fields)

  it("are permanent only for a 5xx reply to the message", () => {
    const permanent = (fields: Record<string, unknown>) => toDeliveryError(smtpError(fields)).permanent
    expect(permanent({ code: "EENVELOPE", responseCode: 550, command: "RCPT TO" })).toBe(true)
    expect(permanent({ code: "EMESSAGE", responseCode: 554, command: "DATA" })).toBe(true)
    expect(permanent({ code: "EENVELOPE", responseCode: 452, command: "RCPT TO" })).toBe(false)
    expect(permanent({ code: "EPROTOCOL", responseCode: 421, command: "CONN" })).toBe(false)
    expect(permanent({ code: "EPROTOCOL", responseCode: 503, command: "DATA" })).toBe(false)
    expect(permanent({ code: "EAUTH", responseCode: 535, command: "AUTH PLAIN" })).toBe(false)
    expect(permanent({ code: "ESOCKET", originalCode: "ECONNREFUSED" })).toBe(false)
    expect(permanent({ code: "ETIMEDOUT" })).toBe(false)
    expect(toDeliveryError("not an error")).toMatchObject({ permanent: false })
  })

  it("say what failed, safely", () => {
    const token = "Ab3_-x".repeat(8)
    const error = toDeliveryError(
      smtpError({
        code: "EMESSAGE",
        command: "DATA",
        responseCode: 554,
        message: `Message failed: 554 5.7.1 URL https://app.example.com/login/${token} blocked\r\n token ${token}`
      })
    )
    expect(error.message).toBe("SMTP send failed (EMESSAGE, DATA): Message failed: 554 5.7.1 URL [url] blocked token [redacted]")
    expect(error.message).not.toContain(token)
    expect(toDeliveryError(smtpError({ code: "EABORT" }), { timedOutAfterMillis: 60_000 }).message).toBe(
      "SMTP send abandoned after 1m (EABORT)"
    )
    expect(toDeliveryError(smtpError({ code: "EABORT" })).message).toBe("SMTP send cancelled (EABORT)")
  })
})
