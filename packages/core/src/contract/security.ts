/**
 * Authentication and authorization of API callers (SPEC 1.4): `Authorization: Bearer <access
 * token>`, the reference's `token` security scheme, and the permission each endpoint needs. Only
 * the tags live here; the server (`@lagrello/core`'s `server/`) implements them.
 *
 * @since 0.0.0
 */
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import type { Permission } from "../domain/permissions.js"
import type { Principal } from "../domain/principal.js"
import { ForbiddenWire, UnavailableWire } from "./wire-errors.js"

/**
 * The authenticated caller of the current request, provided by {@link Authentication}.
 * @since 0.0.0
 * @category tags
 */
export class CurrentPrincipal extends Context.Tag("@lagrello/core/CurrentPrincipal")<CurrentPrincipal, Principal>() {}

/**
 * The bearer-token middleware of every endpoint except `GET /v1/images/totp`. Its
 * implementation checks the access token and provides the {@link CurrentPrincipal}, or fails with
 * `Forbidden` (403: missing, wrong or revoked token) or `Unavailable` (503: the token could not be
 * looked up). It runs before parameters and body are decoded (SPEC 1.8).
 *
 * Note for implementers: `HttpApiSecurity.bearer` hands over the `Authorization` header with its
 * first 7 characters cut off, without checking that they were `Bearer `; check the scheme from
 * the request headers yourself.
 * @since 0.0.0
 * @category middleware
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("@lagrello/core/Authentication", {
  failure: Schema.Union(ForbiddenWire, UnavailableWire),
  provides: CurrentPrincipal,
  security: { token: HttpApiSecurity.bearer }
}) {}

/**
 * The permission an endpoint needs (ADMIN implies WRITE implies READ), as an annotation of the
 * endpoint or of its whole group: `.annotate(RequiredPermission, "WRITE")`. It is written only
 * here, in the contract; the server checks it after the access token and before any decoding
 * (SPEC 1.8). An endpoint of a group without {@link Authentication} needs no token and has none.
 * @since 0.0.0
 * @category annotations
 */
export class RequiredPermission extends Context.Tag("@lagrello/core/RequiredPermission")<RequiredPermission, Permission>() {}

/**
 * Marks an endpoint whose successful answer holds a secret (a TOTP secret, a created access
 * token): the server sends it with `Cache-Control: no-store` (SPEC 2.5).
 * @since 0.0.0
 * @category annotations
 */
export class SecretAnswer extends Context.Tag("@lagrello/core/SecretAnswer")<SecretAnswer, true>() {}

/**
 * The rate limit per client address of an endpoint that needs no access token: at most
 * `requests` per `perMillis`; past it the server answers 429 with `Retry-After`.
 * @since 0.0.0
 * @category annotations
 */
export class ClientRateLimit extends Context.Tag("@lagrello/core/ClientRateLimit")<
  ClientRateLimit,
  { readonly requests: number; readonly perMillis: number }
>() {}
