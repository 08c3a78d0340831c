/**
 * Serving the contract, independently of any HTTP framework: the routes derived from
 * `LagrelloApi` and the handler table, and the answers of requests that reach no route.
 *
 * @since 0.0.0
 */
import { LagrelloApi } from "../contract/api.js"
import { NotFound } from "../domain/errors.js"
import type { HandlerServices } from "../handlers/index.js"
import { handlers } from "../handlers/index.js"
import type { ClientRateLimiter } from "./ClientRateLimiter.js"
import type { Answer, Route } from "./Route.js"
import { errorAnswer, makeRoutes } from "./Route.js"

export { errorAnswer, internalAnswer, makeRoutes, UnreadableBody } from "./Route.js"
export type { Answer, IncomingRequest, Route } from "./Route.js"
export { ClientRateLimiter, type ClientRateLimiterService, layerClientRateLimiter } from "./ClientRateLimiter.js"

/**
 * Every endpoint of `LagrelloApi` with its handler, in the contract's order.
 * @since 0.0.0
 */
export const routes: ReadonlyArray<Route<HandlerServices | ClientRateLimiter>> = makeRoutes(LagrelloApi, handlers)

/**
 * The answer to a `/v1/...` path the API does not have.
 * @since 0.0.0
 */
export const unknownEndpointAnswer: Answer = errorAnswer(new NotFound({ message: "No such endpoint in the Lagrello v1 API" }))

/**
 * The answer to the hosted service's endpoints that a self-hosted server does not have: billing
 * (`/v1/tenant/activate`, `/v1/tenant/cardtoken`), public sign-up (`POST /v1/tenant`) and tenant
 * deletion (SPEC 1.1).
 * @since 0.0.0
 */
export const notSelfHostedAnswer: Answer = errorAnswer(
  new NotFound({
    message: "Billing and tenant sign-up are not part of a self-hosted Lagrello server; configure the tenant at start"
  })
)

/**
 * Those endpoints, as method and path.
 * @since 0.0.0
 */
export const notSelfHostedEndpoints: ReadonlyArray<{ readonly method: "GET" | "POST" | "DELETE"; readonly path: string }> = [
  { method: "POST", path: "/v1/tenant" },
  { method: "DELETE", path: "/v1/tenant" },
  { method: "POST", path: "/v1/tenant/activate" },
  { method: "GET", path: "/v1/tenant/cardtoken" }
]
