/** The sign-in pages: the controllers and providers the application registers. */
import { CrossDeviceController } from "./cross-device.controller.js"
import { FormTokens } from "./forms.js"
import { HandoffCookie } from "./handoff-cookie.js"
import { RecentCodes } from "./recent-codes.js"
import { SessionStore } from "./session.js"
import { SignIns } from "./sign-in.js"
import { DemoTenant } from "./tenant.js"
import { WebController } from "./web.controller.js"

export const webControllers = [WebController, CrossDeviceController]
export const webProviders = [SessionStore, FormTokens, RecentCodes, DemoTenant, SignIns, HandoffCookie]
