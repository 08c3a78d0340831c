/** The sign-in pages: the controllers and providers the application registers. */
import { FormTokens } from "./forms.js"
import { RecentCodes } from "./recent-codes.js"
import { SessionStore } from "./session.js"
import { DemoTenant } from "./tenant.js"
import { WebController } from "./web.controller.js"

export const webControllers = [WebController]
export const webProviders = [SessionStore, FormTokens, RecentCodes, DemoTenant]
