/**
 * The HTML of the pages of SPEC 5: the code from the mail, recovery codes, and both ends of the
 * sign-in handoff. Every argument is escaped here.
 */
import { escapeHtml, form, webPage } from "./layout.js"
import { emailCodeForm } from "./pages.js"

const error = (text: string | undefined) => (text === undefined ? "" : `<p class="error" role="alert">${escapeHtml(text)}</p>`)

/** `/signin/email-code`: the address and the code of a sign-in mail. */
export const emailCodePage = (tenant: string, csrf: string, options: { readonly error?: string; readonly email?: string } = {}) =>
  webPage(
    "Enter the code from the mail",
    [
      "<h1>Enter the code from the mail</h1>",
      "<p>Every sign-in mail carries a code beside its link. Enter it here to sign in on this device; " +
        "the mail's link then no longer works.</p>",
      error(options.error),
      emailCodeForm(csrf, options.email),
      '<p class="muted"><a href="/">Back to sign in</a></p>'
    ].join("\n"),
    tenant
  )

/** `/signin/recovery`: a recovery code in place of the authenticator's code. */
export const recoverySignInPage = (tenant: string, csrf: string, message?: string) =>
  webPage(
    "Use a recovery code",
    [
      "<h1>Use a recovery code</h1>",
      "<p>Lost your authenticator? Enter one of the recovery codes you saved (like <code>ABCD-EFGH-JKLM-NPQR</code>). " +
        "Each code works once.</p>",
      error(message),
      form(
        "/signin/recovery",
        csrf,
        [
          '<label for="recovery-code">Recovery code</label>',
          '<input id="recovery-code" type="text" name="code" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="24" required autofocus>',
          '<button type="submit">Sign in</button>'
        ].join("\n")
      ),
      '<p class="muted"><a href="/signin/code">Use the authenticator instead</a></p>'
    ].join("\n"),
    tenant
  )

/** The codes as a text file, for the download link (a `data:` URL: nothing is kept for it). */
const codesFile = (tenant: string, codes: ReadonlyArray<string>, createdAt: string) =>
  `data:text/plain;charset=utf-8,${encodeURIComponent(
    [`Recovery codes for ${tenant} (made ${createdAt})`, "Each works once, in place of an authenticator code.", "", ...codes, ""].join("\n")
  )}`

/** `/account/recovery-codes`: a new set, shown this once. */
export const recoveryCodesPage = (tenant: string, codes: ReadonlyArray<string>, createdAt: string) =>
  webPage(
    "Your recovery codes",
    [
      "<h1>Your recovery codes</h1>",
      '<p class="notice" role="status">New recovery codes were made; the old ones no longer work.</p>',
      "<p>Keep them somewhere safe: each signs you in once if you lose your authenticator. " +
        "<strong>They are shown only now.</strong></p>",
      `<ol class="recovery-codes" id="recovery-codes">${codes.map((code) => `<li>${escapeHtml(code)}</li>`).join("")}</ol>`,
      '<div class="actions">',
      // Hidden until the script file shows it: without script there is nothing to copy with.
      '<button type="button" class="secondary" data-copy="recovery-codes" hidden>Copy</button>',
      `<a class="button" href="${escapeHtml(codesFile(tenant, codes, createdAt))}" download="recovery-codes.txt">Download as a text file</a>`,
      "</div>",
      '<p><a href="/account">I have saved them: back to my account</a></p>'
    ].join("\n"),
    tenant,
    { script: true }
  )

/** `/signin/wait`: the device that asked shows the number and waits for the phone (SPEC 5.3). */
export const handoffWaitPage = (tenant: string, csrf: string, matchNumber: number, email: string) =>
  webPage(
    "Confirm on your phone",
    [
      "<h1>Confirm on your phone</h1>",
      `<p>We sent a sign-in mail to <strong>${escapeHtml(email)}</strong>. Open its link on your phone (or any device) ` +
        "and pick this number there:</p>",
      `<p class="match" id="match-number" data-wait-url="/signin/wait/status">${String(matchNumber).padStart(2, "0")}</p>`,
      '<p class="muted">This page moves on by itself once you confirm. Never pick a number for a sign-in you did not start.</p>',
      "<hr>",
      "<p>Or enter the code from the mail here:</p>",
      emailCodeForm(csrf, email),
      '<p class="muted"><a href="/">Cancel</a></p>'
    ].join("\n"),
    tenant,
    { script: true, refreshWithoutScriptSeconds: 5 }
  )

/** The waiting page once the handoff ended without a sign-in. */
export const handoffEndedPage = (tenant: string, outcome: "denied" | "expired") =>
  webPage(
    outcome === "denied" ? "The sign-in was refused" : "The sign-in link expired",
    [
      `<h1>${outcome === "denied" ? "The sign-in was refused" : "The sign-in link expired"}</h1>`,
      outcome === "denied"
        ? "<p>A different number was picked on the other device, so this sign-in was refused and its link no longer works.</p>"
        : "<p>The link was not confirmed in time, or it was used up another way (its code, or a newer mail).</p>",
      '<p><a href="/">Start again</a></p>'
    ].join("\n"),
    tenant
  )

/** `/login/:token` of a handoff's link: the three numbers (SPEC 5.3). */
export const handoffChoicesPage = (tenant: string, csrf: string, token: string, choices: ReadonlyArray<number>) =>
  webPage(
    `Confirm the sign-in to ${tenant}`,
    [
      `<h1>Confirm the sign-in to ${escapeHtml(tenant)}</h1>`,
      "<p>Someone asked to sign in to your account on another device. If it was you, pick the number that device shows.</p>",
      form(
        `/login/${encodeURIComponent(token)}/approve`,
        csrf,
        `<div class="choices">${choices
          .map((n) => `<button type="submit" name="matchNumber" value="${n}">${String(n).padStart(2, "0")}</button>`)
          .join("")}</div>`
      ),
      '<p class="muted">Did not start a sign-in? Close this page: nobody can finish it without you. ' +
        "A wrong number refuses the sign-in.</p>"
    ].join("\n"),
    tenant
  )

/** After the right number. */
export const handoffApprovedPage = (tenant: string) =>
  webPage(
    "Sign-in confirmed",
    [
      "<h1>Sign-in confirmed</h1>",
      '<p class="notice" role="status">Done: you can return to your other device. It signs in by itself.</p>',
      '<p class="muted">You can close this page.</p>'
    ].join("\n"),
    tenant
  )

/** After a wrong number. */
export const handoffRefusedPage = (tenant: string) =>
  webPage(
    "Sign-in refused",
    [
      "<h1>Sign-in refused</h1>",
      "<p>That is not the number the other device shows, so the sign-in was refused and this link no longer works.</p>",
      "<p>If you did start it, start again on that device.</p>"
    ].join("\n"),
    tenant
  )
