/**
 * The handler of every endpoint of `LagrelloApi`, written once: each one an Effect program that
 * calls the operations. The server (`../server/`) derives the routes from the contract and runs
 * these; nothing else knows which operation serves which endpoint.
 *
 * @since 0.0.0
 */
import type { LagrelloApi } from "../contract/api.js"
import type { Policies } from "../domain/policies.js"
import type { Sealer } from "../crypto/Sealer.js"
import type { SecureRandom } from "../crypto/SecureRandom.js"
import type { Storage } from "../storage/Storage.js"
import { auth } from "./auth.js"
import { crossDevice } from "./crossDevice.js"
import { events, webhooks } from "./events.js"
import type { HandlerTable } from "./Handler.js"
import { images } from "./images.js"
import { recovery } from "./recovery.js"
import { tenants } from "./tenants.js"
import { tokens } from "./tokens.js"
import { users } from "./users.js"

export type { Handler, HandlerRequest, HandlerTable } from "./Handler.js"

/**
 * The services the handlers need.
 * @since 0.0.0
 */
export type HandlerServices = Storage | Sealer | SecureRandom | Policies

/**
 * The handler table of `LagrelloApi`.
 * @since 0.0.0
 */
export type LagrelloHandlers = HandlerTable<typeof LagrelloApi, HandlerServices>

/**
 * The handlers of `LagrelloApi`, by group and endpoint.
 * @since 0.0.0
 */
export const handlers: LagrelloHandlers = {
  users,
  auth,
  tenants,
  tokens,
  images,
  recovery,
  crossDevice,
  events,
  webhooks
}
