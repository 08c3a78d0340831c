/**
 * The operations of the demo's own tenant (the one named `LAGRELLO_TENANT_NAME`, the module's
 * bootstrap tenant), for the sign-in pages.
 */
import { NotFound } from "@lagrello/core"
import type { TenantOperations } from "@lagrello/nest"
import { LagrelloService } from "@lagrello/nest"
import { Injectable } from "@nestjs/common"

@Injectable()
export class DemoTenant {
  constructor(readonly lagrello: LagrelloService) {}

  async operations(): Promise<TenantOperations> {
    return this.lagrello.tenant
  }

  /** Whether the user has a confirmed authenticator (a pending enrolment alone does not count). */
  async hasTotp(userId: string): Promise<boolean> {
    // A user deleted through the API while signed in here has no authenticator either.
    return this.lagrello.tenant.hasTotp(userId).catch((error: unknown) => {
      if (error instanceof NotFound) return false
      throw error
    })
  }
}
