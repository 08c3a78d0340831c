/**
 * Authentication of API callers (SPEC 1.4): `Authorization: Bearer <access token>`, the
 * reference's `token` security scheme. Only the middleware tag lives here; the server provides
 * its implementation.
 *
 * @since 0.0.0
 */
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
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
