/**
 * The demo's confirmation page, where the default callback URL (`PUBLIC_URL/login/{}`) leads.
 * Opening the link (GET, or HEAD) only shows a confirmation form and never consumes the token, so
 * mail scanners that fetch links cannot burn it (SPEC 3.6); it keeps no server state either (its
 * form's CSRF token is the anonymous form cookie's, web/forms.ts). The form's POST consumes the
 * token: the user is signed in (the first session is created here), or, with an authenticator
 * turned on, asked for a code next.
 *
 * A handoff's link (SPEC 5.3) opens the same page, which then shows three numbers instead (they
 * consume nothing either); the number's POST decides the handoff: the waiting device signs in, or,
 * with a wrong number, nobody does and the link is burnt.
 */
import { isWellFormedToken } from "@lagrello/core"
import { Body, Controller, Get, Inject, Param, Post, Req, Res } from "@nestjs/common"
import type { DemoConfig } from "../config.js"
import { DEMO_CONFIG } from "../tokens.js"
import { handoffApprovedPage, handoffChoicesPage, handoffRefusedPage } from "../web/cross-device-pages.js"
import { confirmPage, linkFailedPage } from "../web/pages.js"
import type { WebReply, WebRequest } from "../web/reply.js"
import { field, redirect, sendPage } from "../web/reply.js"
import { FormTokens } from "../web/forms.js"
import { SessionStore } from "../web/session.js"
import { DemoTenant } from "../web/tenant.js"
import { checkedForm, errorTag, formTokenOf } from "../web/web.controller.js"

@Controller("login")
export class LoginController {
  private readonly tenantName: string

  constructor(
    @Inject(DEMO_CONFIG) config: DemoConfig,
    private readonly sessions: SessionStore,
    private readonly forms: FormTokens,
    private readonly tenant: DemoTenant
  ) {
    this.tenantName = config.tenantName
  }

  private notValid(reply: WebReply): void {
    sendPage(
      reply,
      400,
      linkFailedPage(this.tenantName, "This sign-in link is not valid", "Check that the whole link was copied, or ask for a new one.")
    )
  }

  @Get(":token")
  async confirm(@Param("token") token: string, @Req() request: WebRequest, @Res() reply: WebReply): Promise<void> {
    if (!isWellFormedToken(token)) return this.notValid(reply)
    const { csrf, setCookie } = formTokenOf(this.sessions, this.forms, request)
    const choices = await this.handoffChoices(token)
    if (choices !== undefined) return sendPage(reply, 200, handoffChoicesPage(this.tenantName, csrf, token, choices), setCookie)
    sendPage(reply, 200, confirmPage(this.tenantName, csrf, token), setCookie)
  }

  /** The numbers of a live handoff's link; undefined for any other link. */
  private async handoffChoices(token: string): Promise<ReadonlyArray<number> | undefined> {
    try {
      return (await (await this.tenant.operations()).handoffChoices(token)).choices
    } catch (error) {
      if (errorTag(error) === "Unauthorized") return undefined
      throw error
    }
  }

  @Post(":token/approve")
  async approve(
    @Param("token") token: string,
    @Req() request: WebRequest,
    @Body() body: unknown,
    @Res() reply: WebReply
  ): Promise<void> {
    if (!isWellFormedToken(token)) return this.notValid(reply)
    const checked = checkedForm(this.sessions, this.forms, request, body, reply, this.tenantName)
    if (checked === false) return
    const choices = await this.handoffChoices(token)
    if (choices === undefined) {
      return sendPage(
        reply,
        410,
        linkFailedPage(this.tenantName, "This sign-in link has expired or was already used", "A sign-in link works once and only for 10 minutes.")
      )
    }
    const picked = Number(field(body, "matchNumber"))
    if (!choices.includes(picked)) {
      // Not one of the numbers offered (no page sends that): nothing is decided.
      const { csrf } = formTokenOf(this.sessions, this.forms, request)
      return sendPage(reply, 400, handoffChoicesPage(this.tenantName, csrf, token, choices))
    }
    try {
      await (await this.tenant.operations()).approveHandoff(token, picked)
    } catch (error) {
      // A wrong number: the sign-in is refused and the link burnt (or another tab decided first).
      if (errorTag(error) !== "Unauthorized") throw error
      return sendPage(reply, 410, handoffRefusedPage(this.tenantName))
    }
    sendPage(reply, 200, handoffApprovedPage(this.tenantName))
  }

  @Post(":token")
  async signIn(
    @Param("token") token: string,
    @Req() request: WebRequest,
    @Body() body: unknown,
    @Res() reply: WebReply
  ): Promise<void> {
    if (!isWellFormedToken(token)) return this.notValid(reply)
    const checked = checkedForm(this.sessions, this.forms, request, body, reply, this.tenantName)
    if (checked === false) return
    const tenant = await this.tenant.operations()
    let userId: string
    try {
      userId = (await tenant.verifyMagicLink(token)).userId
    } catch (error) {
      const tag = errorTag(error)
      if (tag !== "Unauthorized" && tag !== "NotFound" && tag !== "InvalidPayload") throw error
      return sendPage(
        reply,
        410,
        linkFailedPage(
          this.tenantName,
          "This sign-in link has expired or was already used",
          "A sign-in link works once and only for 10 minutes."
        )
      )
    }
    // A new session id at every change of who is signed in (no session fixation).
    this.sessions.remove(checked.session)
    if (await this.tenant.hasTotp(userId)) {
      const pending = this.sessions.create({ pendingUserId: userId })
      return redirect(reply, "/signin/code", this.sessions.cookie(pending))
    }
    const signedIn = this.sessions.create({ userId })
    redirect(reply, "/account", this.sessions.cookie(signedIn))
  }
}
