/**
 * The `auth` group: magic links and TOTP (SPEC 2). Declared before the users controller so that
 * `GET /v1/users/email` wins over `GET /v1/users/:userId` on every adapter.
 *
 * @since 0.0.0
 */
import type { Principal } from "@lagrello/core"
import { MagicLink, Totp, TotpEnableRequest, UserId, VerifyParams } from "@lagrello/core"
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res, UseFilters, UseGuards } from "@nestjs/common"
import { LagrelloBearerGuard } from "../bearer.guard.js"
import { decodeBody, decodeOrThrow } from "../decode.js"
import { LagrelloExceptionFilter } from "../exception.filter.js"
import { CurrentPrincipal, RequirePermission } from "../principal.js"
import { LagrelloService } from "../../lagrello.service.js"

interface StatusResponse {
  status(code: number): unknown
}

/** @since 0.0.0 */
@Controller("v1/users")
@UseGuards(LagrelloBearerGuard)
@UseFilters(LagrelloExceptionFilter)
export class AuthController {
  constructor(private readonly runner: LagrelloService) {}

  @Get("email")
  @RequirePermission("READ")
  verifyMagicLink(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    const { payload } = decodeOrThrow(VerifyParams, query, "query")
    return this.runner.run(MagicLink.verify(principal.tenantId, payload))
  }

  @Post(":userId/email")
  @HttpCode(204)
  @RequirePermission("WRITE")
  async sendMagicLink(@CurrentPrincipal() principal: Principal, @Param("userId") userId: string): Promise<void> {
    await this.runner.run(MagicLink.send(principal.tenantId, decodeOrThrow(UserId, userId, "userId")))
  }

  @Get(":userId/totp")
  @RequirePermission("READ")
  verifyTotp(@CurrentPrincipal() principal: Principal, @Param("userId") userId: string, @Query() query: unknown) {
    const id = decodeOrThrow(UserId, userId, "userId")
    const { payload } = decodeOrThrow(VerifyParams, query, "query")
    return this.runner.run(Totp.verify(principal.tenantId, id, payload))
  }

  @Post(":userId/totp")
  @RequirePermission("WRITE")
  async toggleTotp(
    @CurrentPrincipal() principal: Principal,
    @Param("userId") userId: string,
    @Body() body: unknown,
    @Headers("content-type") contentType: string | undefined,
    @Res({ passthrough: true }) response: StatusResponse
  ) {
    const id = decodeOrThrow(UserId, userId, "userId")
    const { enable } = decodeBody(TotpEnableRequest, body, contentType)
    if (enable) {
      response.status(200)
      return this.runner.run(Totp.enable(principal.tenantId, id))
    }
    await this.runner.run(Totp.disable(principal.tenantId, id))
    response.status(204)
    return undefined
  }
}
