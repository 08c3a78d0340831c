/**
 * The `tokens` group: access tokens of the caller's tenant (SPEC 1.6); ADMIN only.
 *
 * @since 0.0.0
 */
import type { Principal } from "@lagrello/core"
import { CreateTokenRequest, TokenListParams, Tokens } from "@lagrello/core"
import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, UseFilters, UseGuards } from "@nestjs/common"
import * as Schema from "effect/Schema"
import { LagrelloBearerGuard } from "../bearer.guard.js"
import { decodeBody, decodeOrThrow } from "../decode.js"
import { LagrelloExceptionFilter } from "../exception.filter.js"
import { CurrentPrincipal, RequirePermission } from "../principal.js"
import { LagrelloService } from "../../lagrello.service.js"

const TokenId = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))

/** @since 0.0.0 */
@Controller("v1/tokens")
@UseGuards(LagrelloBearerGuard)
@UseFilters(LagrelloExceptionFilter)
@RequirePermission("ADMIN")
export class TokensController {
  constructor(private readonly runner: LagrelloService) {}

  @Get()
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    return this.runner.run(Tokens.list(principal, decodeOrThrow(TokenListParams, query, "query")))
  }

  @Post()
  @HttpCode(200)
  create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Headers("content-type") contentType: string | undefined
  ) {
    return this.runner.run(Tokens.create(principal, decodeBody(CreateTokenRequest, body, contentType)))
  }

  @Delete(":id")
  @HttpCode(204)
  async revoke(@CurrentPrincipal() principal: Principal, @Param("id") id: string): Promise<void> {
    await this.runner.run(Tokens.revoke(principal, decodeOrThrow(TokenId, id, "id")))
  }
}
