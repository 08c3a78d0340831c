/**
 * Makes the demo usable at once (SPEC 4.3), after the module has built its runtime (and, when
 * `LAGRELLO_ACCESS_TOKEN` is set, applied its `bootstrap` option):
 *
 * - with no access token configured, the FIRST start (the tenant does not exist yet) creates the
 *   tenant with a generated ADMIN token and prints that token once; later starts print nothing;
 * - the tenant's callback URL is set at every start: `LAGRELLO_CALLBACK_URL`, or the demo's own
 *   confirmation page under `PUBLIC_URL` (SPEC 4.3). One set with `PATCH /v1/tenant` lasts until
 *   the next start.
 */
import { randomBytes } from "node:crypto"
import { Storage, Tenants } from "@lagrello/core"
import { LagrelloService } from "@lagrello/nest"
import type { OnApplicationBootstrap } from "@nestjs/common"
import { Inject, Injectable } from "@nestjs/common"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { DemoConfig } from "./config.js"
import { writeLog } from "./logger.js"
import { DEMO_CONFIG } from "./tokens.js"

/** A new access token: `lgr_` and 32 random bytes in base64url. */
export const generateAccessToken = (): string => `lgr_${randomBytes(32).toString("base64url")}`

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

@Injectable()
export class TenantBootstrap implements OnApplicationBootstrap {
  constructor(
    private readonly lagrello: LagrelloService,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { accessToken, callbackUrl, tenantName } = this.config
    const generated = await this.lagrello.run(
      Effect.gen(function* () {
        const storage = yield* Storage
        const existing = yield* storage.findTenantByName(tenantName)
        if (Option.isNone(existing)) {
          const token = accessToken ?? generateAccessToken()
          yield* Tenants.ensure({ name: tenantName, accessToken: token, callbackUrl })
          return accessToken === undefined ? token : undefined
        }
        // (Already done by the module's bootstrap when an access token is configured.)
        if (existing.value.callbackUrl !== callbackUrl) {
          yield* Tenants.update(existing.value.tenantId, { callbackUrl })
        }
        return undefined
      })
    )
    if (generated !== undefined) {
      process.stdout.write(announceToken(tenantName, generated))
      writeLog("info", "created the tenant with a generated access token (printed above, once)", { tenant: tenantName })
    }
  }
}
