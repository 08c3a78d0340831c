/**
 * Access-token permissions: ADMIN implies WRITE implies READ (SPEC 1.4).
 *
 * @since 0.0.0
 */
import * as Schema from "effect/Schema"

/** @since 0.0.0 */
export const Permission = Schema.Literal("READ", "WRITE", "ADMIN")

/** @since 0.0.0 */
export type Permission = typeof Permission.Type

const rank: Record<Permission, number> = { READ: 1, WRITE: 2, ADMIN: 3 }

/**
 * The effective permissions of a granted set, closed under implication, in canonical order.
 * @since 0.0.0
 */
export const expand = (granted: Iterable<Permission>): ReadonlyArray<Permission> => {
  let top = 0
  for (const p of granted) top = Math.max(top, rank[p])
  return (["READ", "WRITE", "ADMIN"] as const).filter((p) => rank[p] <= top)
}

/**
 * Whether a token holding `granted` may do what needs `required`.
 * @since 0.0.0
 */
export const allows = (granted: ReadonlyArray<Permission>, required: Permission): boolean =>
  granted.some((p) => rank[p] >= rank[required])
