/**
 * The browser-safe part of core: the wire models, typed errors and the HttpApi contract.
 * @since 0.0.0
 */
export * from "../domain/errors.js"
export * from "../domain/models.js"
export * from "../domain/permissions.js"
export * from "../domain/recovery.js"
export * from "../domain/events.js"
export type * from "../domain/principal.js"
export * from "./api.js"
export * from "./auth.js"
export * from "./crossDevice.js"
export * from "./events.js"
export * from "./images.js"
export * from "./issues.js"
export * from "./params.js"
export * from "./recovery.js"
export * from "./security.js"
export * from "./tenants.js"
export * from "./tokens.js"
export * from "./users.js"
export * from "./wire-errors.js"
