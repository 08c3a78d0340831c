/** The sign-in pages: the controllers and providers the application registers. */
import { SessionStore } from "./session.js"
import { DemoTenant } from "./tenant.js"
import { WebController } from "./web.controller.js"

export const webControllers = [WebController]
export const webProviders = [SessionStore, DemoTenant]
