/**
 * The bearer guard: resolves `Authorization: Bearer <access token>` into the tenant and
 * permissions of the token (SPEC 1.4), then checks the route's permission. It runs before any
 * parameter or body is decoded, so a wrong token is 403 whatever the rest of the request holds.
 *
 * @since 0.0.0
 */
import type { Permission } from "@lagrello/core"
import { Access } from "@lagrello/core"
import type { CanActivate, ExecutionContext } from "@nestjs/common"
import { Inject, Injectable } from "@nestjs/common"
import { Reflector } from "@nestjs/core"
import * as Effect from "effect/Effect"
import type { LagrelloContext } from "../runtime.js"
import { LAGRELLO_CONTEXT } from "../runtime.js"
import { valueOrThrow } from "./errors.js"
import { PERMISSION_KEY, setPrincipal } from "./principal.js"

interface HttpRequest {
  readonly headers: Record<string, string | Array<string> | undefined>
}

/** @since 0.0.0 */
@Injectable()
export class LagrelloBearerGuard implements CanActivate {
  constructor(
    @Inject(LAGRELLO_CONTEXT) private readonly context: LagrelloContext,
    private readonly reflector: Reflector
  ) {}

  async canActivate(execution: ExecutionContext): Promise<boolean> {
    const request = execution.switchToHttp().getRequest<HttpRequest>()
    const header = request.headers.authorization
    const permission = this.reflector.getAllAndOverride<Permission | undefined>(PERMISSION_KEY, [
      execution.getHandler(),
      execution.getClass()
    ])
    const principal = valueOrThrow(
      await this.context.runtime.runPromiseExit(
        Effect.tap(Access.authenticate(Access.bearerToken(typeof header === "string" ? header : undefined)), (p) =>
          permission === undefined ? Effect.void : Access.require(p, permission)
        )
      )
    )
    setPrincipal(request, principal)
    return true
  }
}
