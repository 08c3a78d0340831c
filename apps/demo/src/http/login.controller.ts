/**
 * The demo's confirmation page, where the default callback URL (`PUBLIC_URL/login/{}`) leads.
 * Opening the link (GET) only shows a confirmation form and never consumes the token, so mail
 * scanners that fetch links cannot burn them (SPEC 3.6). Signing in on confirmation (the POST)
 * arrives with the demo's login flow; until then the POST answers that it is not available.
 */
import { isWellFormedToken } from "@lagrello/core"
import { Controller, Get, HttpCode, Inject, Param, Post, Res } from "@nestjs/common"
import type { DemoConfig } from "../config.js"
import { DEMO_CONFIG } from "../tokens.js"
import { escapeHtml, page } from "./html.js"
import { PageHeaders } from "./pages.js"

interface StatusResponse {
  status(code: number): unknown
}

@Controller("login")
export class LoginController {
  constructor(@Inject(DEMO_CONFIG) private readonly config: DemoConfig) {}

  @Get(":token")
  @PageHeaders()
  confirm(@Param("token") token: string, @Res({ passthrough: true }) response: StatusResponse): string {
    const name = escapeHtml(this.config.tenantName)
    if (!isWellFormedToken(token)) {
      response.status(400)
      return page("Sign-in link not valid", "<h1>This sign-in link is not valid</h1>\n<p>Ask for a new link.</p>")
    }
    return page(
      `Sign in to ${this.config.tenantName}`,
      [
        `<h1>Sign in to ${name}</h1>`,
        "<p>Confirm to sign in with this link. It works once.</p>",
        `<form method="post" action="/login/${escapeHtml(encodeURIComponent(token))}">`,
        '<button type="submit">Sign in</button>',
        "</form>"
      ].join("\n")
    )
  }

  @Post(":token")
  @HttpCode(501)
  @PageHeaders()
  signIn(): string {
    return page(
      "Not available yet",
      "<h1>Not available yet</h1>\n<p>Signing in from this page is not part of this version of the demo; your link was not used.</p>"
    )
  }
}
