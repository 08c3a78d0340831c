/**
 * `@lagrello/nest`: the NestJS module for Lagrello.
 *
 * - `LagrelloModule.forRoot` / `forRootAsync` serves the Lagrello v1 API and provides
 *   `LagrelloService` for in-process calls.
 * - `LagrelloClientModule.forRoot` / `forRootAsync` provides the `@lagrello/client` Promise client
 *   for a remote server (`@InjectLagrelloClient()`) and disposes it on shutdown.
 *
 * @since 0.0.0
 */
export { LagrelloBearerGuard } from "./http/bearer.guard.js"
export { LagrelloDefect } from "./http/errors.js"
export { LagrelloExceptionFilter } from "./http/exception.filter.js"
export { CurrentPrincipal, RequirePermission } from "./http/principal.js"
export { LAGRELLO_OPTIONS } from "./lagrello.module-definition.js"
export { LagrelloModule } from "./lagrello.module.js"
export { LagrelloService, TenantOperations } from "./lagrello.service.js"
export type { LagrelloModuleExtras, LagrelloModuleOptions, MailOption, StorageOption } from "./options.js"
export { mountedRoutes, mountRoutes, traceIdOf } from "./http/routes.js"
export type { ExpressRouter, FastifyRouter, Handler, HttpReply, HttpRequest, MountOptions } from "./http/routes.js"
export { createLagrelloContext, LAGRELLO_CONTEXT } from "./runtime.js"
export type { LagrelloContext, LagrelloRuntime, LagrelloServices } from "./runtime.js"
export { LagrelloClientModule } from "./client/lagrello-client.module.js"
export {
  InjectLagrelloClient,
  LAGRELLO_CLIENT,
  LAGRELLO_CLIENT_OPTIONS
} from "./client/lagrello-client.module-definition.js"
export type {
  LagrelloClientModuleExtras,
  LagrelloClientModuleOptions
} from "./client/lagrello-client.module-definition.js"
export type { LagrelloPromiseClient } from "@lagrello/client"
