/**
 * The browser-safe part of core: the wire models, typed errors and the HttpApi contract.
 * @since 0.0.0
 */
export * from "../domain/errors.js"
export * from "../domain/models.js"
export * from "../domain/permissions.js"
