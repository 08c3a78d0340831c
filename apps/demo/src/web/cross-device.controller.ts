/**
 * The pages of SPEC 5 on the device that signs in: the code from a sign-in mail, a recovery code
 * in place of the authenticator, the new recovery codes (shown once), and the waiting end of the
 * handoff (its other end, the page the mail's link opens, is `LoginController`).
 *
 * Anonymous forms carry the signed double-submit cookie (forms.ts), as the sign-in form does; a
 * session exists only once the first factor is proven (sign-in.ts).
 */
import { Body, Controller, Get, Inject, Post, Req, Res } from "@nestjs/common"
import type { DemoConfig } from "../config.js"
import { writeLog } from "../logger.js"
import { DEMO_CONFIG } from "../tokens.js"
import {
  emailCodePage,
  handoffEndedPage,
  handoffWaitPage,
  recoveryCodesPage,
  recoverySignInPage
} from "./cross-device-pages.js"
import { FormTokens } from "./forms.js"
import { HandoffCookie } from "./handoff-cookie.js"
import type { WebReply, WebRequest } from "./reply.js"
import { cookieHeader, field, redirect, sendPage } from "./reply.js"
import { SessionStore } from "./session.js"
import type { SignedIn } from "./sign-in.js"
import { SignIns } from "./sign-in.js"
import { DemoTenant } from "./tenant.js"
import { checkedForm, checkedSession, errorTag, formTokenOf, normaliseEmail } from "./web.controller.js"

/** How long one long poll of the waiting page holds its request (the core allows up to 30 s). */
const waitSeconds = 25

/** A JSON answer of the waiting page's script (never cached: it may carry a session cookie). */
const sendJson = (reply: WebReply, body: unknown, setCookies: ReadonlyArray<string> = []): void => {
  reply.status(200)
  reply.header("Content-Type", "application/json; charset=utf-8")
  reply.header("Cache-Control", "no-store")
  reply.header("X-Content-Type-Options", "nosniff")
  if (setCookies.length > 0) reply.header("Set-Cookie", setCookies)
  reply.send(JSON.stringify(body))
}

@Controller()
export class CrossDeviceController {
  private readonly tenantName: string

  constructor(
    private readonly sessions: SessionStore,
    private readonly forms: FormTokens,
    private readonly tenant: DemoTenant,
    private readonly signIns: SignIns,
    private readonly handoffs: HandoffCookie,
    @Inject(DEMO_CONFIG) config: DemoConfig
  ) {
    this.tenantName = config.tenantName
  }

  @Get("signin/email-code")
  emailCodeForm(@Req() request: WebRequest, @Res() reply: WebReply): void {
    const { csrf, setCookie } = formTokenOf(this.sessions, this.forms, request)
    sendPage(reply, 200, emailCodePage(this.tenantName, csrf), setCookie)
  }

  /** SPEC 5.2: the code of the user's last sign-in mail, typed on this device (its link is used up too). */
  @Post("signin/email-code")
  async emailCode(@Req() request: WebRequest, @Body() body: unknown, @Res() reply: WebReply): Promise<void> {
    const checked = checkedForm(this.sessions, this.forms, request, body, reply, this.tenantName)
    if (checked === false) return
    const { csrf } = formTokenOf(this.sessions, this.forms, request)
    const typed = field(body, "email") ?? ""
    const email = normaliseEmail(typed)
    const code = (field(body, "code") ?? "").trim()
    if (email === undefined || code === "" || code.length > 64) {
      return sendPage(
        reply,
        400,
        emailCodePage(this.tenantName, csrf, { error: "Enter your e-mail address and the code from the mail.", email: typed.slice(0, 254) })
      )
    }
    let userId: string
    try {
      userId = (await (await this.tenant.operations()).verifyEmailCode(email, code)).userId
    } catch (error) {
      const tag = errorTag(error)
      if (tag !== "Unauthorized" && tag !== "NotFound" && tag !== "InvalidPayload") throw error
      // The same words for an unknown address and a wrong code (SPEC 3.6).
      return sendPage(
        reply,
        401,
        emailCodePage(this.tenantName, csrf, {
          error: "That code is wrong, expired or was already used. After five wrong codes, ask for a new mail.",
          email
        })
      )
    }
    const next = await this.signIns.complete(userId, checked.session)
    redirect(reply, next.location, next.setCookie)
  }

  @Get("signin/recovery")
  recoveryForm(@Req() request: WebRequest, @Res() reply: WebReply): void {
    const session = this.sessions.find(cookieHeader(request))
    if (session?.pendingUserId === undefined) return redirect(reply, "/")
    sendPage(reply, 200, recoverySignInPage(this.tenantName, session.csrf))
  }

  /** SPEC 5.1: the second factor by a recovery code (it counts in the authenticator's failures). */
  @Post("signin/recovery")
  async recovery(@Req() request: WebRequest, @Body() body: unknown, @Res() reply: WebReply): Promise<void> {
    const session = checkedSession(this.sessions, request, body, reply, this.tenantName)
    if (session === undefined) return
    const userId = session.pendingUserId
    if (userId === undefined) return redirect(reply, "/")
    const typed = (field(body, "code") ?? "").trim()
    if (typed === "" || typed.length > 64) {
      // Not a code at all: nothing is counted.
      return sendPage(reply, 400, recoverySignInPage(this.tenantName, session.csrf, "Enter one of your recovery codes."))
    }
    const operations = await this.tenant.operations()
    try {
      await operations.verifyRecoveryCode(userId, typed)
    } catch (error) {
      const tag = errorTag(error)
      if (tag === "Unauthorized" || tag === "InvalidPayload") {
        return sendPage(reply, 401, recoverySignInPage(this.tenantName, session.csrf, "That recovery code is wrong or was already used."))
      }
      if (tag === "TooManyRequests") {
        return sendPage(reply, 429, recoverySignInPage(this.tenantName, session.csrf, "Too many wrong codes. Wait a few minutes before trying again."))
      }
      throw error
    }
    const { remaining } = await operations.recoveryCodesStatus(userId)
    this.sessions.remove(session)
    const signedIn = this.sessions.create({
      userId,
      notice: `You signed in with a recovery code; ${remaining} ${remaining === 1 ? "is" : "are"} left. ` +
        "If your authenticator is lost, replace it below (a recovery code works for that too), then make new recovery codes."
    })
    redirect(reply, "/account", this.sessions.cookie(signedIn))
  }

  /** The new codes, once: the session forgets them as the page is sent. */
  @Get("account/recovery-codes")
  recoveryCodes(@Req() request: WebRequest, @Res() reply: WebReply): void {
    const session = this.sessions.find(cookieHeader(request))
    if (session?.userId === undefined) return redirect(reply, "/")
    const fresh = session.recoveryCodes
    session.recoveryCodes = undefined
    if (fresh === undefined) return redirect(reply, "/account")
    sendPage(reply, 200, recoveryCodesPage(this.tenantName, fresh.codes, fresh.createdAt))
  }

  /**
   * SPEC 5.3, the waiting device: the number to pick on the phone. Without script the page
   * refreshes itself, and each load looks at the handoff once; with it, the script long-polls
   * `/signin/wait/status`.
   */
  @Get("signin/wait")
  async wait(@Req() request: WebRequest, @Res() reply: WebReply): Promise<void> {
    const waiting = this.handoffs.read(cookieHeader(request))
    if (waiting === undefined) return redirect(reply, "/")
    const outcome = await this.look(waiting.handoffId, 0)
    if (outcome.state === "pending") {
      const { csrf, setCookie } = formTokenOf(this.sessions, this.forms, request)
      return sendPage(reply, 200, handoffWaitPage(this.tenantName, csrf, waiting.matchNumber, waiting.email), setCookie)
    }
    if (outcome.state === "signed-in") {
      return redirect(reply, outcome.next.location, [this.handoffs.cookie(undefined), outcome.next.setCookie])
    }
    sendPage(reply, 200, handoffEndedPage(this.tenantName, outcome.state), this.handoffs.cookie(undefined))
  }

  /** The waiting page's long poll: `{next}` once decided (with the session, when approved), else `{}`. */
  @Get("signin/wait/status")
  async waitStatus(@Req() request: WebRequest, @Res() reply: WebReply): Promise<void> {
    const waiting = this.handoffs.read(cookieHeader(request))
    if (waiting === undefined) return sendJson(reply, { next: "/" })
    const outcome = await this.look(waiting.handoffId, waitSeconds)
    if (outcome.state === "pending") return sendJson(reply, {})
    if (outcome.state === "signed-in") {
      return sendJson(reply, { next: outcome.next.location }, [this.handoffs.cookie(undefined), outcome.next.setCookie])
    }
    // The page itself says how it ended (and clears the cookie).
    sendJson(reply, { next: "/signin/wait" })
  }

  /** The handoff's state after waiting up to `seconds`; an approval signs this browser in. */
  private async look(
    handoffId: string,
    seconds: number
  ): Promise<{ readonly state: "pending" | "denied" | "expired" } | { readonly state: "signed-in"; readonly next: SignedIn }> {
    const operations = await this.tenant.operations()
    let answer
    try {
      answer = await operations.handoffStatus(handoffId, seconds)
    } catch (error) {
      // Its user was deleted meanwhile (or the cookie names no handoff): nothing to wait for.
      if (errorTag(error) === "NotFound") return { state: "expired" }
      throw error
    }
    if (answer.status === "approved" && answer.user !== undefined) {
      writeLog("info", "signed in by a handoff")
      return { state: "signed-in", next: await this.signIns.complete(answer.user.userId, undefined) }
    }
    return { state: answer.status === "approved" ? "expired" : answer.status }
  }
}
