/**
 * The `users` group: create, get, update, delete users of the caller's tenant.
 *
 * @since 0.0.0
 */
import type { Principal } from "@lagrello/core"
import { CreateUserRequest, UpdateUserRequest, UserId, Users } from "@lagrello/core"
import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, UseFilters, UseGuards } from "@nestjs/common"
import { LagrelloBearerGuard } from "../bearer.guard.js"
import { decodeBody, decodeOrThrow } from "../decode.js"
import { LagrelloExceptionFilter } from "../exception.filter.js"
import { CurrentPrincipal, RequirePermission } from "../principal.js"
import { LagrelloService } from "../../lagrello.service.js"

/** @since 0.0.0 */
@Controller("v1/users")
@UseGuards(LagrelloBearerGuard)
@UseFilters(LagrelloExceptionFilter)
export class UsersController {
  constructor(private readonly runner: LagrelloService) {}

  @Post()
  @HttpCode(201)
  @RequirePermission("WRITE")
  create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Headers("content-type") contentType: string | undefined
  ) {
    return this.runner.run(Users.create(principal.tenantId, decodeBody(CreateUserRequest, body, contentType)))
  }

  @Get(":userId")
  @RequirePermission("READ")
  get(@CurrentPrincipal() principal: Principal, @Param("userId") userId: string) {
    return this.runner.run(Users.get(principal.tenantId, decodeOrThrow(UserId, userId, "userId")))
  }

  @Patch(":userId")
  @RequirePermission("WRITE")
  update(
    @CurrentPrincipal() principal: Principal,
    @Param("userId") userId: string,
    @Body() body: unknown,
    @Headers("content-type") contentType: string | undefined
  ) {
    const id = decodeOrThrow(UserId, userId, "userId")
    return this.runner.run(Users.update(principal.tenantId, id, decodeBody(UpdateUserRequest, body, contentType)))
  }

  @Delete(":userId")
  @HttpCode(204)
  @RequirePermission("WRITE")
  async remove(@CurrentPrincipal() principal: Principal, @Param("userId") userId: string): Promise<void> {
    await this.runner.run(Users.remove(principal.tenantId, decodeOrThrow(UserId, userId, "userId")))
  }
}
