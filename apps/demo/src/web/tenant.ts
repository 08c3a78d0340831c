/**
 * The operations of the demo's own tenant (the one named `LAGRELLO_TENANT_NAME`, which the demo
 * sets up at start), for the sign-in pages.
 */
import { NotFound, Storage } from "@lagrello/core"
import type { TenantOperations } from "@lagrello/nest"
import { LagrelloService } from "@lagrello/nest"
import { Inject, Injectable } from "@nestjs/common"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { DemoConfig } from "../config.js"
import { DEMO_CONFIG } from "../tokens.js"

@Injectable()
export class DemoTenant {
  private tenantId: string | undefined

  constructor(
    readonly lagrello: LagrelloService,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig
  ) {}

  private async id(): Promise<string> {
    if (this.tenantId !== undefined) return this.tenantId
    const name = this.config.tenantName
    const tenant = await this.lagrello.run(Effect.flatMap(Storage, (storage) => storage.findTenantByName(name)))
    if (Option.isNone(tenant)) throw new Error(`The tenant ${JSON.stringify(name)} does not exist`)
    this.tenantId = tenant.value.tenantId
    return this.tenantId
  }

  async operations(): Promise<TenantOperations> {
    return this.lagrello.forTenant(await this.id())
  }

  /** Whether the user has a confirmed authenticator (a pending enrolment alone does not count). */
  async hasTotp(userId: string): Promise<boolean> {
    // A user deleted through the API while signed in here has no authenticator either.
    return (await this.operations()).hasTotp(userId).catch((error: unknown) => {
      if (error instanceof NotFound) return false
      throw error
    })
  }
}
