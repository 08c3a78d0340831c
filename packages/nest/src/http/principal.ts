/**
 * The authenticated caller, attached to the request by the bearer guard.
 *
 * @since 0.0.0
 */
import type { Permission, Principal } from "@lagrello/core"
import type { ExecutionContext } from "@nestjs/common"
import { createParamDecorator, SetMetadata } from "@nestjs/common"

const principalKey = Symbol.for("@lagrello/nest/principal")

/** @internal */
export const setPrincipal = (request: object, principal: Principal) => {
  ;(request as Record<symbol, Principal>)[principalKey] = principal
}

/** @internal */
export const getPrincipal = (request: object): Principal | undefined => (request as Record<symbol, Principal>)[principalKey]

/**
 * The principal of the request, in a controller method: `@CurrentPrincipal() principal: Principal`.
 * @since 0.0.0
 */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = getPrincipal(context.switchToHttp().getRequest<object>())
  if (!principal) throw new Error("CurrentPrincipal used on a route without the Lagrello bearer guard")
  return principal
})

/** @internal */
export const PERMISSION_KEY = "lagrello:permission"

/**
 * The permission a route needs (ADMIN implies WRITE implies READ).
 * @since 0.0.0
 */
export const RequirePermission = (permission: Permission) => SetMetadata(PERMISSION_KEY, permission)
