/**
 * Where clients reach the API, for the links the answers hold (the token list's `paging`).
 *
 * @since 0.0.0
 */
import * as Context from "effect/Context"

/**
 * What comes before `/v1/...` where clients reach the API, without a trailing slash: an absolute
 * URL (`https://auth.example.com`, `https://example.com/auth`), or a path prefix (`/auth`) when
 * the public address is not known. Without it, links are paths from the server's root
 * (`/v1/tokens?...`).
 * @since 0.0.0
 * @category tags
 */
export class ApiBaseUrl extends Context.Tag("@lagrello/core/ApiBaseUrl")<ApiBaseUrl, string>() {}
