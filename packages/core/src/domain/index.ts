/**
 * The domain: wire models, typed errors, permissions, the principal and the policies.
 * @since 0.0.0
 */
export * from "./errors.js"
export * from "./location.js"
export * from "./models.js"
export * from "./permissions.js"
export * from "./policies.js"
export * from "./recovery.js"
export type * from "./principal.js"
