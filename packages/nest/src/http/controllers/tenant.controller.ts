/**
 * The `tenants` group: the caller's tenant (SPEC 1.7). Billing and public sign-up are not part of
 * a self-hosted service and answer a clear 404 (see not-found.controller.ts).
 *
 * @since 0.0.0
 */
import type { Principal } from "@lagrello/core"
import { Tenants, UpdateTenantRequest } from "@lagrello/core"
import { Body, Controller, Get, Headers, Patch, UseFilters, UseGuards } from "@nestjs/common"
import { LagrelloBearerGuard } from "../bearer.guard.js"
import { decodeBody } from "../decode.js"
import { LagrelloExceptionFilter } from "../exception.filter.js"
import { CurrentPrincipal, RequirePermission } from "../principal.js"
import { LagrelloService } from "../../lagrello.service.js"

/** @since 0.0.0 */
@Controller("v1/tenant")
@UseGuards(LagrelloBearerGuard)
@UseFilters(LagrelloExceptionFilter)
export class TenantController {
  constructor(private readonly runner: LagrelloService) {}

  @Get()
  @RequirePermission("READ")
  get(@CurrentPrincipal() principal: Principal) {
    return this.runner.run(Tenants.get(principal.tenantId))
  }

  @Patch()
  @RequirePermission("WRITE")
  update(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Headers("content-type") contentType: string | undefined
  ) {
    return this.runner.run(Tenants.update(principal.tenantId, decodeBody(UpdateTenantRequest, body, contentType)))
  }
}
