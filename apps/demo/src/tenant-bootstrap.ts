/**
 * Makes the demo usable at once (SPEC 4.3), after the module has built its runtime and applied
 * its `bootstrap` option (the tenant named `LAGRELLO_TENANT_NAME`, with `LAGRELLO_ACCESS_TOKEN`
 * as an ADMIN token when it is set):
 *
 * - with no access token configured, the FIRST start (the one that created the tenant) prints the
 *   ADMIN token the module generated, once; later starts print nothing;
 * - `LAGRELLO_CALLBACK_URL`, when set, is the tenant's callback URL at every start (the module
 *   applies it). Without it the demo's own confirmation page under `PUBLIC_URL` is used, but only
 *   in place of no URL or of the demo's own page at an earlier address (another port): a callback
 *   URL set with `PATCH /v1/tenant` stays across restarts.
 */
import { LagrelloService } from "@lagrello/nest"
import type { OnApplicationBootstrap } from "@nestjs/common"
import { Inject, Injectable } from "@nestjs/common"
import * as Redacted from "effect/Redacted"
import type { DemoConfig } from "./config.js"
import { defaultCallbackUrl } from "./config.js"
import { writeLog } from "./logger.js"
import { DEMO_CONFIG } from "./tokens.js"

export const announceToken = (tenantName: string, token: string): string =>
  [
    "",
    `Created the tenant "${tenantName}" with this ADMIN access token. It is shown this once: keep it.`,
    "",
    `    ${token}`,
    "",
    "Use it as: Authorization: Bearer <token>. To choose the token yourself, set LAGRELLO_ACCESS_TOKEN.",
    ""
  ].join("\n")

/** The demo's own confirmation page, at whatever address. */
const isDemoPage = (callbackUrl: string): boolean => /^https?:\/\/[^?#]*\/login\/\{\}$/.test(callbackUrl)

@Injectable()
export class TenantBootstrap implements OnApplicationBootstrap {
  constructor(
    private readonly lagrello: LagrelloService,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { callbackUrl, publicUrl, tenantName } = this.config
    const bootstrap = this.lagrello.bootstrap
    if (bootstrap === undefined) throw new Error("The demo's module has no bootstrap tenant")
    const current = bootstrap.tenant.callbackUrl
    if (callbackUrl === defaultCallbackUrl(publicUrl) && current !== callbackUrl && (current === "" || isDemoPage(current))) {
      await this.lagrello.tenant.updateTenant({ callbackUrl })
    }
    if (bootstrap.generatedAccessToken !== undefined) {
      process.stdout.write(announceToken(tenantName, Redacted.value(bootstrap.generatedAccessToken)))
      writeLog("info", "created the tenant with a generated access token (printed above, once)", { tenant: tenantName })
    }
  }
}
