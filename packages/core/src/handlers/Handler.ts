/**
 * The shape of the handler table: one Effect program per endpoint of the contract, keyed by
 * group and endpoint name, in the spirit of `HttpApiBuilder.group(api, "users", (h) =>
 * h.handle("get", ...))`. Its types are derived from `LagrelloApi`: a handler receives the decoded
 * path, query and body of its endpoint (and the caller, where the group needs an access token)
 * and may fail only with the errors its endpoint, group or API declares.
 *
 * @since 0.0.0
 */
import type * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import type * as Effect from "effect/Effect"
import type { Principal } from "../domain/principal.js"

/**
 * What the handler of endpoint `E` of group `G` receives: the decoded `path`, `urlParams` and
 * `payload` its endpoint declares, and `principal`, the caller, when the group authenticates.
 * @since 0.0.0
 */
export type HandlerRequest<G extends HttpApiGroup.HttpApiGroup.Any, E extends HttpApiEndpoint.HttpApiEndpoint.Any> =
  & ([HttpApiEndpoint.HttpApiEndpoint.PathParsed<E>] extends [never] ? Record<never, never>
    : { readonly path: HttpApiEndpoint.HttpApiEndpoint.PathParsed<E> })
  & ([HttpApiEndpoint.HttpApiEndpoint.UrlParams<E>] extends [never] ? Record<never, never>
    : { readonly urlParams: HttpApiEndpoint.HttpApiEndpoint.UrlParams<E> })
  & ([HttpApiEndpoint.HttpApiEndpoint.Payload<E>] extends [never] ? Record<never, never>
    : { readonly payload: HttpApiEndpoint.HttpApiEndpoint.Payload<E> })
  & ([HttpApiGroup.HttpApiGroup.Middleware<G>] extends [never] ? Record<never, never> : { readonly principal: Principal })

/**
 * The handler of endpoint `E` of group `G` in an API whose own errors are `ApiError`, needing
 * the services `R`.
 * @since 0.0.0
 */
export type Handler<G extends HttpApiGroup.HttpApiGroup.Any, E extends HttpApiEndpoint.HttpApiEndpoint.Any, ApiError, R> = (
  request: HandlerRequest<G, E>
) => Effect.Effect<
  HttpApiEndpoint.HttpApiEndpoint.Success<E>,
  HttpApiEndpoint.HttpApiEndpoint.Error<E> | HttpApiGroup.HttpApiGroup.Error<G> | ApiError,
  R
>

/**
 * A handler for every endpoint of the API `A`, by group name, then endpoint name.
 * @since 0.0.0
 */
export type HandlerTable<A, R> = A extends HttpApi.HttpApi<string, infer Groups, infer ApiError, infer _R> ? {
    readonly [G in Groups as HttpApiGroup.HttpApiGroup.Name<G>]: {
      readonly [E in HttpApiGroup.HttpApiGroup.Endpoints<G> as HttpApiEndpoint.HttpApiEndpoint.Name<E>]: Handler<
        G,
        E,
        ApiError,
        R
      >
    }
  }
  : never
