/**
 * The demo's sign-in pages (SPEC 3.6): sign in with an e-mail address, the authenticator code
 * when the user has one, the account page (set up or turn off the authenticator), sign out.
 * The magic link's confirmation page is `LoginController` (`/login/:token`).
 */
import { Body, Controller, Get, Header, Inject, Post, Req, Res } from "@nestjs/common"
import type { DemoConfig } from "../config.js"
import { writeLog } from "../logger.js"
import { DEMO_CONFIG } from "../tokens.js"
import { stylesheet } from "./layout.js"
import { accountPage, checkMailPage, codePage, formExpiredPage, signInPage, totpSetupPage } from "./pages.js"
import type { WebReply, WebRequest } from "./reply.js"
import { cookieHeader, field, redirect, sendPage } from "./reply.js"
import type { Session } from "./session.js"
import { sameSecret, SessionStore } from "./session.js"
import { DemoTenant } from "./tenant.js"

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

/** The session of the request, or a new one (with the cookie to set). */
export const sessionOf = (
  sessions: SessionStore,
  request: WebRequest
): { readonly session: Session; readonly setCookie: string | undefined } => {
  const found = sessions.find(cookieHeader(request))
  if (found !== undefined) return { session: found, setCookie: undefined }
  const session = sessions.create()
  return { session, setCookie: sessions.cookie(session) }
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

const wrongCode = "That code is wrong, expired or already used. Try the next one."

const codeError = (error: unknown): { status: number; message: string } | undefined => {
  switch (errorTag(error)) {
    case "Unauthorized":
      return { status: 401, message: wrongCode }
    case "TooManyRequests":
      return { status: 429, message: "Too many wrong codes. Wait a few minutes before trying again." }
    case "InvalidPayload":
      return { status: 400, message: wrongCode }
    default:
      return undefined
  }
}

@Controller()
export class WebController {
  private readonly tenantName: string

  constructor(
    private readonly sessions: SessionStore,
    private readonly tenant: DemoTenant,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig
  ) {
    this.tenantName = config.tenantName
  }

  @Get("web/style.css")
  @Header("Content-Type", "text/css; charset=utf-8")
  @Header("Cache-Control", "public, max-age=3600")
  @Header("X-Content-Type-Options", "nosniff")
  style(): string {
    return stylesheet
  }

  @Get()
  home(@Req() request: WebRequest, @Res() reply: WebReply): void {
    const { session, setCookie } = sessionOf(this.sessions, request)
    if (session.userId !== undefined) return redirect(reply, "/account", setCookie)
    sendPage(reply, 200, signInPage(this.tenantName, session.csrf), setCookie)
  }

  @Post("signin")
  async signIn(@Req() request: WebRequest, @Body() body: unknown, @Res() reply: WebReply): Promise<void> {
    const session = checkedSession(this.sessions, request, body, reply, this.tenantName)
    if (session === undefined) return
    const typed = field(body, "email") ?? ""
    const email = normaliseEmail(typed)
    if (email === undefined) {
      return sendPage(
        reply,
        400,
        signInPage(this.tenantName, session.csrf, { error: "Enter a valid e-mail address.", email: typed.slice(0, 254) })
      )
    }
    const tenant = await this.tenant.operations()
    // A sample application creates the user at the first sign-in; userId = the address.
    try {
      await tenant.createUser({ userId: email, email })
    } catch (error) {
      if (errorTag(error) !== "Conflict") throw error
    }
    try {
      await tenant.sendMagicLink(email)
    } catch (error) {
      // The page is the same either way: it must not tell whether the address is known or throttled.
      const tag = errorTag(error)
      if (tag !== "TooManyRequests" && tag !== "NotFound" && tag !== "Conflict" && tag !== "InvalidPayload") throw error
      writeLog("info", "sign-in link not sent", { reason: tag })
    }
    sendPage(reply, 200, checkMailPage(this.tenantName, email, this.config.devMailbox.served))
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
    try {
      await (await this.tenant.operations()).verifyTotp(userId, (field(body, "code") ?? "").trim())
    } catch (error) {
      const failure = codeError(error)
      if (failure === undefined) throw error
      return sendPage(reply, failure.status, codePage(this.tenantName, session.csrf, failure.message))
    }
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
    sendPage(reply, 200, accountPage(this.tenantName, session.csrf, session.userId, totp, message))
  }

  @Post("account/totp/setup")
  async totpSetup(@Req() request: WebRequest, @Body() body: unknown, @Res() reply: WebReply): Promise<void> {
    const session = checkedSession(this.sessions, request, body, reply, this.tenantName)
    if (session === undefined) return
    if (session.userId === undefined) return redirect(reply, "/")
    const { secretKey, qrImage } = await (await this.tenant.operations()).enableTotp(session.userId)
    session.totpSetup = { secretKey, qrImage }
    redirect(reply, "/account/totp")
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
    if (session.userId === undefined) return redirect(reply, "/")
    if (session.totpSetup === undefined) return redirect(reply, "/account")
    try {
      await (await this.tenant.operations()).verifyTotp(session.userId, (field(body, "code") ?? "").trim())
    } catch (error) {
      const failure = codeError(error)
      if (failure === undefined) throw error
      return sendPage(reply, failure.status, totpSetupPage(this.tenantName, session.csrf, session.totpSetup, failure.message))
    }
    session.totpSetup = undefined
    session.notice = "Authenticator turned on. You will need a code from it when you sign in."
    redirect(reply, "/account")
  }

  @Post("account/totp/disable")
  async totpDisable(@Req() request: WebRequest, @Body() body: unknown, @Res() reply: WebReply): Promise<void> {
    const session = checkedSession(this.sessions, request, body, reply, this.tenantName)
    if (session === undefined) return
    if (session.userId === undefined) return redirect(reply, "/")
    await (await this.tenant.operations()).disableTotp(session.userId)
    session.totpSetup = undefined
    session.notice = "Authenticator turned off."
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
