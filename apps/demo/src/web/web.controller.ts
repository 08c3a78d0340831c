/**
 * The demo's sign-in pages (SPEC 3.6): sign in with an e-mail address, the authenticator code
 * when the user has one, the account page (set up, replace or turn off the authenticator), sign
 * out. The magic link's confirmation page is `LoginController` (`/login/:token`).
 *
 * Anonymous pages keep no server state: their forms are protected by a signed double-submit
 * cookie (forms.ts); a session exists only once a magic link was used (session.ts).
 */
import { base32Decode, verifyTotp } from "@lagrello/core"
import { Body, Controller, Get, Header, Inject, Post, Req, Res } from "@nestjs/common"
import type { DemoConfig } from "../config.js"
import { writeLog } from "../logger.js"
import { DEMO_CONFIG } from "../tokens.js"
import { FormTokens } from "./forms.js"
import { HandoffCookie } from "./handoff-cookie.js"
import { appScript, stylesheet } from "./layout.js"
import {
  accountPage,
  checkMailPage,
  codePage,
  formExpiredPage,
  linkFailedPage,
  signInPage,
  tooManySignInsPage,
  totpSetupPage
} from "./pages.js"
import type { WebReply, WebRequest } from "./reply.js"
import { cookieHeader, field, redirect, sendPage } from "./reply.js"
import { RecentCodes } from "./recent-codes.js"
import type { Session } from "./session.js"
import { sameSecret, SessionStore } from "./session.js"
import { looksLikeRecoveryCode } from "./sign-in.js"
import { DemoTenant } from "./tenant.js"
import { SignInThrottle } from "./throttle.js"

/** The `_tag` of a typed Lagrello error, if it is one. */
export const errorTag = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : undefined

/** Same rule as the core's `Email` (SPEC 2.1). */
const emailPattern =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/

/** The address as the demo keys users by it: trimmed and lower-case; undefined when not valid. */
export const normaliseEmail = (text: string | undefined): string | undefined => {
  const email = (text ?? "").trim().toLowerCase()
  return email.length <= 128 && emailPattern.test(email) ? email : undefined
}

/** The CSRF token for a page's forms: the session's, or the anonymous form cookie's (set when missing). */
export const formTokenOf = (
  sessions: SessionStore,
  forms: FormTokens,
  request: WebRequest
): { readonly session: Session | undefined; readonly csrf: string; readonly setCookie: string | undefined } => {
  const session = sessions.find(cookieHeader(request))
  if (session !== undefined) return { session, csrf: session.csrf, setCookie: undefined }
  return { session: undefined, ...forms.issue(cookieHeader(request)) }
}

/**
 * The POST's session (if any) when its CSRF field matches the session's token, or (without a
 * session) the anonymous form cookie; otherwise answers 403 and gives false.
 */
export const checkedForm = (
  sessions: SessionStore,
  forms: FormTokens,
  request: WebRequest,
  body: unknown,
  reply: WebReply,
  tenantName: string
): { readonly session: Session | undefined } | false => {
  const session = sessions.find(cookieHeader(request))
  const csrf = field(body, "csrf")
  if (session !== undefined ? csrf !== undefined && sameSecret(csrf, session.csrf) : forms.check(cookieHeader(request), csrf)) {
    return { session }
  }
  // The page carries a fresh token, so that "back" and a new try work.
  const { setCookie } = formTokenOf(sessions, forms, request)
  sendPage(reply, 403, formExpiredPage(tenantName), setCookie)
  return false
}

/** The live session of a POST whose CSRF field matches it; otherwise answers 403 and gives undefined. */
export const checkedSession = (
  sessions: SessionStore,
  request: WebRequest,
  body: unknown,
  reply: WebReply,
  tenantName: string
): Session | undefined => {
  const session = sessions.find(cookieHeader(request))
  const csrf = field(body, "csrf")
  if (session !== undefined && csrf !== undefined && sameSecret(csrf, session.csrf)) return session
  sendPage(reply, 403, formExpiredPage(tenantName))
  return undefined
}

const wrongCode = "That code is wrong or was already used. If you just used it, wait for the next code in your app."
const justUsed =
  "That code was not accepted. Each code works once, and one was used for this account less than a minute ago: " +
  "wait for the next code in your app (a new one every 30 seconds) and enter that."

/** The page's answer to a refused code; undefined for errors that are not about the code. */
export const codeError = (error: unknown, recentlyUsed: boolean): { status: number; message: string } | undefined => {
  switch (errorTag(error)) {
    case "Unauthorized":
    case "InvalidPayload":
      return { status: errorTag(error) === "Unauthorized" ? 401 : 400, message: recentlyUsed ? justUsed : wrongCode }
    case "TooManyRequests":
      return { status: 429, message: "Too many wrong codes. Wait a few minutes before trying again." }
    default:
      return undefined
  }
}

/** The client's address as the adapter gives it (the connection's peer). */
const clientAddress = (request: WebRequest): string | undefined => request.ip ?? request.socket?.remoteAddress

@Controller()
export class WebController {
  private readonly tenantName: string
  private readonly throttle = new SignInThrottle()

  constructor(
    private readonly sessions: SessionStore,
    private readonly forms: FormTokens,
    private readonly tenant: DemoTenant,
    private readonly recent: RecentCodes,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
    private readonly handoffs: HandoffCookie
  ) {
    this.tenantName = config.tenantName
  }

  /**
   * Checks an authenticator code of the user (or, with `recovery`, a recovery code in its place:
   * SPEC 3.6 lets either replace the authenticator); answers the page's error when it is refused.
   */
  private async verifyCode(
    userId: string,
    code: string,
    options: { readonly recovery?: boolean } = {}
  ): Promise<{ status: number; message: string } | undefined> {
    const operations = await this.tenant.operations()
    if (options.recovery === true && looksLikeRecoveryCode(code)) {
      try {
        await operations.verifyRecoveryCode(userId, code)
        return undefined
      } catch (error) {
        const tag = errorTag(error)
        if (tag === "Unauthorized") return { status: 401, message: "That recovery code is wrong or was already used." }
        if (tag === "TooManyRequests") return { status: 429, message: "Too many wrong codes. Wait a few minutes before trying again." }
        throw error
      }
    }
    try {
      await operations.verifyTotp(userId, code.trim())
    } catch (error) {
      const failure = codeError(error, this.recent.justUsed(userId))
      if (failure === undefined) throw error
      return failure
    }
    this.recent.accept(userId)
    return undefined
  }

  @Get("web/style.css")
  @Header("Content-Type", "text/css; charset=utf-8")
  @Header("Cache-Control", "public, max-age=3600")
  @Header("X-Content-Type-Options", "nosniff")
  style(): string {
    return stylesheet
  }

  @Get("web/app.js")
  @Header("Content-Type", "text/javascript; charset=utf-8")
  @Header("Cache-Control", "public, max-age=3600")
  @Header("X-Content-Type-Options", "nosniff")
  script(): string {
    return appScript
  }

  @Get()
  home(@Req() request: WebRequest, @Res() reply: WebReply): void {
    const { session, csrf, setCookie } = formTokenOf(this.sessions, this.forms, request)
    if (session?.userId !== undefined) return redirect(reply, "/account")
    sendPage(reply, 200, signInPage(this.tenantName, csrf), setCookie)
  }

  /**
   * The checks of both sign-in forms, before anything is created or sent: the CSRF token, the
   * address, the throttle (the same for every address). Answers the address, or undefined when
   * a page was sent.
   */
  private async acceptSignIn(request: WebRequest, body: unknown, reply: WebReply): Promise<string | undefined> {
    const checked = checkedForm(this.sessions, this.forms, request, body, reply, this.tenantName)
    if (checked === false) return undefined
    const { csrf } = formTokenOf(this.sessions, this.forms, request)
    const typed = field(body, "email") ?? ""
    const email = normaliseEmail(typed)
    if (email === undefined) {
      sendPage(reply, 400, signInPage(this.tenantName, csrf, { error: "Enter a valid e-mail address.", email: typed.slice(0, 254) }))
      return undefined
    }
    // Before anything is created or sent, and the same for every address.
    const allowed = this.throttle.take(clientAddress(request))
    if (!allowed.ok) {
      writeLog("info", "sign-in requests throttled", { retryAfterSeconds: allowed.retryAfterSeconds })
      reply.header("Retry-After", String(allowed.retryAfterSeconds))
      sendPage(reply, 429, tooManySignInsPage(this.tenantName, allowed.retryAfterSeconds))
      return undefined
    }
    // A sample application creates the user at the first sign-in; userId = the address.
    try {
      await (await this.tenant.operations()).createUser({ userId: email, email })
    } catch (error) {
      if (errorTag(error) !== "Conflict") throw error
    }
    return email
  }

  @Post("signin")
  async signIn(@Req() request: WebRequest, @Body() body: unknown, @Res() reply: WebReply): Promise<void> {
    const email = await this.acceptSignIn(request, body, reply)
    if (email === undefined) return
    const { csrf } = formTokenOf(this.sessions, this.forms, request)
    const tenant = await this.tenant.operations()
    try {
      await tenant.sendMagicLink(email)
    } catch (error) {
      // The page is the same either way: it must not tell whether the address is known or throttled.
      const tag = errorTag(error)
      if (tag !== "TooManyRequests" && tag !== "NotFound" && tag !== "Conflict" && tag !== "InvalidPayload") throw error
      writeLog("info", "sign-in link not sent", { reason: tag })
    }
    sendPage(reply, 200, checkMailPage(this.tenantName, email, this.config.devMailbox.served, csrf))
  }

  /**
   * A sign-in on this device that the mail confirms on another (SPEC 5.3): the handoff is
   * started, kept in a cookie, and this browser waits at `/signin/wait`.
   */
  @Post("signin/handoff")
  async signInWithHandoff(@Req() request: WebRequest, @Body() body: unknown, @Res() reply: WebReply): Promise<void> {
    const email = await this.acceptSignIn(request, body, reply)
    if (email === undefined) return
    try {
      const { expiresAt, handoffId, matchNumber } = await (await this.tenant.operations()).startHandoff(email)
      const maxAge = (Date.parse(expiresAt) - Date.now()) / 1000
      redirect(reply, "/signin/wait", this.handoffs.cookie({ handoffId, matchNumber, email }, maxAge))
    } catch (error) {
      const tag = errorTag(error)
      if (tag !== "TooManyRequests" && tag !== "NotFound" && tag !== "InvalidPayload") throw error
      writeLog("info", "handoff not started", { reason: tag })
      // No number can be shown without a handoff; the page says so without naming the address.
      sendPage(
        reply,
        tag === "TooManyRequests" ? 429 : 400,
        linkFailedPage(
          this.tenantName,
          "No sign-in could be started",
          "Too many sign-in mails were asked for this address recently. Use the link or code of the last mail, or try again in a few minutes."
        )
      )
    }
  }

  @Get("signin/code")
  codeForm(@Req() request: WebRequest, @Res() reply: WebReply): void {
    const session = this.sessions.find(cookieHeader(request))
    if (session?.pendingUserId === undefined) return redirect(reply, "/")
    sendPage(reply, 200, codePage(this.tenantName, session.csrf))
  }

  @Post("signin/code")
  async code(@Req() request: WebRequest, @Body() body: unknown, @Res() reply: WebReply): Promise<void> {
    const session = checkedSession(this.sessions, request, body, reply, this.tenantName)
    if (session === undefined) return
    const userId = session.pendingUserId
    if (userId === undefined) return redirect(reply, "/")
    const failure = await this.verifyCode(userId, field(body, "code") ?? "")
    if (failure !== undefined) return sendPage(reply, failure.status, codePage(this.tenantName, session.csrf, failure.message))
    // Signed in: a new session id (the pending one is dropped).
    this.sessions.remove(session)
    const signedIn = this.sessions.create({ userId })
    redirect(reply, "/account", this.sessions.cookie(signedIn))
  }

  @Get("account")
  async account(@Req() request: WebRequest, @Res() reply: WebReply): Promise<void> {
    const session = this.sessions.find(cookieHeader(request))
    if (session?.userId === undefined) return redirect(reply, "/")
    const message = session.notice
    session.notice = undefined
    const totp = await this.tenant.hasTotp(session.userId)
    const recovery = totp ? await (await this.tenant.operations()).recoveryCodesStatus(session.userId) : undefined
    sendPage(reply, 200, accountPage(this.tenantName, session.csrf, session.userId, totp, { notice: message }, recovery))
  }

  /** Starts an enrolment; with an authenticator on, only through `/account/totp/change` (a current code). */
  @Post("account/totp/setup")
  async totpSetup(@Req() request: WebRequest, @Body() body: unknown, @Res() reply: WebReply): Promise<void> {
    const session = checkedSession(this.sessions, request, body, reply, this.tenantName)
    if (session === undefined) return
    const userId = session.userId
    if (userId === undefined) return redirect(reply, "/")
    if (await this.tenant.hasTotp(userId)) {
      // A session alone must not replace the second factor (SPEC 3.6).
      return sendPage(
        reply,
        403,
        accountPage(this.tenantName, session.csrf, userId, true, { error: "Enter the current code of your authenticator to replace it." })
      )
    }
    await this.startEnrolment(session, userId, reply)
  }

  private async startEnrolment(session: Session, userId: string, reply: WebReply): Promise<void> {
    const { secretKey, qrImage } = await (await this.tenant.operations()).enableTotp(userId)
    session.totpSetup = { secretKey, qrImage }
    redirect(reply, "/account/totp")
  }

  /** Replace or turn off the authenticator: both need a code it shows now. */
  @Post("account/totp/change")
  async totpChange(@Req() request: WebRequest, @Body() body: unknown, @Res() reply: WebReply): Promise<void> {
    const session = checkedSession(this.sessions, request, body, reply, this.tenantName)
    if (session === undefined) return
    const userId = session.userId
    if (userId === undefined) return redirect(reply, "/")
    const action = field(body, "action")
    if (action !== "replace" && action !== "disable" && action !== "recovery-codes") return redirect(reply, "/account")
    if (!(await this.tenant.hasTotp(userId))) return redirect(reply, "/account")
    const typed = field(body, "code") ?? ""
    // New recovery codes need the authenticator itself: a recovery code must not make more of them.
    const failure =
      action === "recovery-codes" && looksLikeRecoveryCode(typed)
        ? { status: 401, message: "Enter a code from your authenticator (not a recovery code) to make new recovery codes." }
        : await this.verifyCode(userId, typed, { recovery: action !== "recovery-codes" })
    if (failure !== undefined) {
      const recovery = await (await this.tenant.operations()).recoveryCodesStatus(userId)
      return sendPage(reply, failure.status, accountPage(this.tenantName, session.csrf, userId, true, { error: failure.message }, recovery))
    }
    if (action === "replace") return this.startEnrolment(session, userId, reply)
    if (action === "recovery-codes") {
      const { codes, createdAt } = await (await this.tenant.operations()).generateRecoveryCodes(userId)
      session.recoveryCodes = { codes, createdAt }
      return redirect(reply, "/account/recovery-codes")
    }
    await (await this.tenant.operations()).disableTotp(userId)
    session.totpSetup = undefined
    session.notice = "Authenticator turned off."
    redirect(reply, "/account")
  }

  @Get("account/totp")
  totpSetupForm(@Req() request: WebRequest, @Res() reply: WebReply): void {
    const session = this.sessions.find(cookieHeader(request))
    if (session?.userId === undefined) return redirect(reply, "/")
    if (session.totpSetup === undefined) return redirect(reply, "/account")
    sendPage(reply, 200, totpSetupPage(this.tenantName, session.csrf, session.totpSetup))
  }

  @Post("account/totp/confirm")
  async totpConfirm(@Req() request: WebRequest, @Body() body: unknown, @Res() reply: WebReply): Promise<void> {
    const session = checkedSession(this.sessions, request, body, reply, this.tenantName)
    if (session === undefined) return
    const userId = session.userId
    if (userId === undefined) return redirect(reply, "/")
    const setup = session.totpSetup
    if (setup === undefined) return redirect(reply, "/account")
    const code = (field(body, "code") ?? "").trim()
    // The core accepts a code of the confirmed secret too (it keeps working during a re-enrolment):
    // only a code of the new secret, the one on this page, may turn the new one on.
    const secret = base32Decode(setup.secretKey)
    if (secret === undefined || verifyTotp(secret, code, Date.now()) === undefined) {
      return sendPage(
        reply,
        401,
        totpSetupPage(this.tenantName, session.csrf, setup, "That code is wrong for the new authenticator. Enter the code the app shows for the secret on this page.")
      )
    }
    const failure = await this.verifyCode(userId, code)
    if (failure !== undefined) return sendPage(reply, failure.status, totpSetupPage(this.tenantName, session.csrf, setup, failure.message))
    session.totpSetup = undefined
    session.notice = "Authenticator turned on. You will need a code from it when you sign in."
    redirect(reply, "/account")
  }

  @Post("signout")
  signOut(@Req() request: WebRequest, @Body() body: unknown, @Res() reply: WebReply): void {
    const session = checkedSession(this.sessions, request, body, reply, this.tenantName)
    if (session === undefined) return
    this.sessions.remove(session)
    redirect(reply, "/", this.sessions.cookie(undefined))
  }
}
