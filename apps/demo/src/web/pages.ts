/** The HTML of the sign-in pages (SPEC 3.6). Every argument is escaped here. */
import { escapeHtml, form, webPage } from "./layout.js"
import type { TotpSetup } from "./session.js"

const notice = (text: string | undefined) => (text === undefined ? "" : `<p class="notice" role="status">${escapeHtml(text)}</p>`)
const error = (text: string | undefined) => (text === undefined ? "" : `<p class="error" role="alert">${escapeHtml(text)}</p>`)

const codeField = (id: string, label = "6-digit code", autofocus = true) =>
  [
    `<label for="${id}">${escapeHtml(label)}</label>`,
    `<input id="${id}" class="code" type="text" name="code" inputmode="numeric" autocomplete="one-time-code"`,
    `  pattern="[0-9]{6}" maxlength="6" required${autofocus ? " autofocus" : ""}>`
  ].join("\n")

/**
 * The secret in groups of four for reading and typing. The groups are separate elements spaced by
 * the stylesheet, not by spaces: selecting and copying it gives the secret as one word, which
 * every authenticator app takes.
 */
export const groupedSecret = (secret: string): string =>
  (secret.match(/.{1,4}/g) ?? []).map((group) => `<span>${escapeHtml(group)}</span>`).join("")

export const signInPage = (tenant: string, csrf: string, options: { error?: string; email?: string } = {}) =>
  webPage(
    `Sign in to ${tenant}`,
    [
      `<h1>Sign in to ${escapeHtml(tenant)}</h1>`,
      "<p>Enter your e-mail address and we will send you a link to sign in. No password needed.</p>",
      error(options.error),
      form(
        "/signin",
        csrf,
        [
          '<label for="email">E-mail address</label>',
          `<input id="email" type="email" name="email" autocomplete="email" required maxlength="254" value="${escapeHtml(options.email ?? "")}">`,
          '<button type="submit">Email me a sign-in link</button>',
          // The same address, for a sign-in here that the mail confirms on another device (SPEC 5.3).
          '<p class="muted">Can\'t open your mail on this device? We can send the link to your phone: you open it there and pick the number shown here.</p>',
          '<button type="submit" class="secondary" formaction="/signin/handoff">Sign in here, confirm on my phone</button>'
        ].join("\n"),
        "stack"
      ),
      '<p class="muted"><a href="/signin/email-code">Have a code from a sign-in mail? Enter it</a></p>'
    ].join("\n"),
    tenant
  )

export const checkMailPage = (tenant: string, email: string, developmentMailbox: boolean, csrf: string) =>
  webPage(
    "Check your mail",
    [
      "<h1>Check your mail</h1>",
      `<p>If <strong>${escapeHtml(email)}</strong> can sign in here, a sign-in link is on its way. ` +
        "It works once and expires after 10 minutes.</p>",
      developmentMailbox
        ? '<p class="muted">Development mode: no mail is sent. Open the <a href="/dev/mailbox">development mailbox</a> to find the link.</p>'
        : "",
      // SPEC 5.2: the mail also carries a code, for a mail read on another device.
      "<p>Reading the mail on another device? Enter the code from the mail here instead.</p>",
      emailCodeForm(csrf, email),
      '<p><a href="/">Use another address</a></p>'
    ].join("\n"),
    tenant
  )

/** The form that signs in with the code of a sign-in mail (the address travels with it). */
export const emailCodeForm = (csrf: string, email: string | undefined) =>
  form(
    "/signin/email-code",
    csrf,
    [
      email === undefined
        ? [
            '<label for="email">E-mail address</label>',
            '<input id="email" type="email" name="email" autocomplete="email" required maxlength="254">'
          ].join("\n")
        : `<input type="hidden" name="email" value="${escapeHtml(email)}">`,
      codeField("mail-code", "Code from the mail", false),
      '<button type="submit" class="secondary">Sign in with the code</button>'
    ].join("\n")
  )

export const confirmPage = (tenant: string, csrf: string, token: string) =>
  webPage(
    `Sign in to ${tenant}`,
    [
      `<h1>Sign in to ${escapeHtml(tenant)}</h1>`,
      "<p>Confirm to sign in with this link. It works once.</p>",
      form(`/login/${encodeURIComponent(token)}`, csrf, '<button type="submit">Sign in</button>')
    ].join("\n"),
    tenant
  )

export const linkFailedPage = (tenant: string, heading: string, detail: string) =>
  webPage(
    heading,
    [
      `<h1>${escapeHtml(heading)}</h1>`,
      `<p>${escapeHtml(detail)}</p>`,
      '<p><a href="/">Ask for a new sign-in link</a></p>'
    ].join("\n"),
    tenant
  )

export const codePage = (tenant: string, csrf: string, message?: string) =>
  webPage(
    "Enter your authenticator code",
    [
      "<h1>Enter your authenticator code</h1>",
      "<p>Your account is protected by an authenticator app. Enter the code it shows for this account.</p>",
      error(message),
      form("/signin/code", csrf, [codeField("code"), '<button type="submit">Verify</button>'].join("\n")),
      '<p class="muted"><a href="/signin/recovery">Lost your authenticator? Use a recovery code</a></p>',
      '<p class="muted"><a href="/">Start again</a></p>'
    ].join("\n"),
    tenant
  )

export const accountPage = (
  tenant: string,
  csrf: string,
  userId: string,
  totp: boolean,
  messages: { readonly notice?: string | undefined; readonly error?: string | undefined } = {},
  recovery: { readonly remaining: number; readonly createdAt?: string | undefined } | undefined = undefined
) =>
  webPage(
    "Your account",
    [
      "<h1>Your account</h1>",
      notice(messages.notice),
      error(messages.error),
      `<p>Signed in as <strong id="user-id">${escapeHtml(userId)}</strong>.</p>`,
      `<p>Authenticator app: <strong id="totp-status">${totp ? "on" : "off"}</strong></p>`,
      totp
        ? [
            // Replacing or removing the second factor needs the second factor: a session alone
            // (a stolen cookie, a computer left signed in) must not be enough.
            // SPEC 5.1: single-use codes for when the authenticator is lost.
            `<p>Recovery codes: <strong id="recovery-status">${
              recovery === undefined || recovery.createdAt === undefined
                ? "none yet"
                : `${recovery.remaining} left`
            }</strong>${
              recovery?.createdAt === undefined ? "" : ` <span class="muted">(made ${escapeHtml(recovery.createdAt.slice(0, 10))})</span>`
            }</p>`,
            '<p class="muted">To replace your authenticator or turn it off, enter the code it shows now (a recovery code works too). ' +
              "New recovery codes need a code from the authenticator.</p>",
            form(
              "/account/totp/change",
              csrf,
              [
                '<label for="current-code">Current code from your authenticator</label>',
                '<input id="current-code" class="code" type="text" name="code" autocomplete="one-time-code" maxlength="24" required>',
                '<button type="submit" name="action" value="replace">Replace authenticator</button>',
                '<button type="submit" name="action" value="recovery-codes" class="secondary">Make new recovery codes</button>',
                '<button type="submit" name="action" value="disable" class="danger">Turn off authenticator</button>'
              ].join("\n"),
              "stack"
            )
          ].join("\n")
        : form("/account/totp/setup", csrf, '<button type="submit">Set up authenticator</button>'),
      form("/signout", csrf, '<button type="submit" class="secondary">Sign out</button>')
    ].join("\n"),
    tenant
  )

export const totpSetupPage = (tenant: string, csrf: string, setup: TotpSetup, message?: string) =>
  webPage(
    "Set up authenticator",
    [
      "<h1>Set up authenticator</h1>",
      "<p>Scan this QR code with your authenticator app (Google Authenticator, 1Password, Aegis, ...).</p>",
      `<img class="qr" src="${escapeHtml(setup.qrImage)}" alt="QR code of the authenticator secret" width="192" height="192">`,
      "<p>Or enter this secret by hand:</p>",
      `<code class="secret" id="totp-secret">${groupedSecret(setup.secretKey)}</code>`,
      "<p>Then enter the code the app shows to turn it on.</p>",
      error(message),
      form("/account/totp/confirm", csrf, [codeField("code"), '<button type="submit">Turn on</button>'].join("\n")),
      '<p class="muted"><a href="/account">Cancel</a></p>'
    ].join("\n"),
    tenant
  )

export const tooManySignInsPage = (tenant: string, retryAfterSeconds: number, now = Date.now()) => {
  const minutes = Math.ceil(retryAfterSeconds / 60)
  const at = new Date(now + retryAfterSeconds * 1000).toISOString().slice(11, 16)
  return webPage(
    "Too many sign-in requests",
    [
      "<h1>Too many sign-in requests</h1>",
      // The same for every address: it says nothing about the one that was typed.
      "<p>Too many sign-in links were asked for from here, or from everyone at once. Nothing was sent.</p>",
      `<p>Try again in ${minutes === 1 ? "a minute" : `${minutes} minutes`} (after ${at} UTC).</p>`,
      '<p><a href="/">Back to sign in</a></p>'
    ].join("\n"),
    tenant
  )
}

export const formExpiredPage = (tenant: string) =>
  webPage(
    "This form has expired",
    [
      "<h1>This form has expired</h1>",
      "<p>The page was open too long, or it came from another browser window. Nothing was changed.</p>",
      '<p><a href="/">Back to sign in</a></p>'
    ].join("\n"),
    tenant
  )
