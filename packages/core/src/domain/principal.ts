/**
 * The authenticated caller of the API: the tenant and permissions of its access token.
 *
 * @since 0.0.0
 */
import type { Permission } from "./permissions.js"

/** @since 0.0.0 */
export interface Principal {
  readonly tenantId: string
  /** The public id of the access token (what the token list shows as `tokenKey`). */
  readonly tokenId: string
  readonly tokenName: string
  readonly permissions: ReadonlyArray<Permission>
}
