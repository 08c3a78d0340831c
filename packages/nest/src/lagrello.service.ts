/**
 * `LagrelloService`: the core operations as Promise methods, for applications that call Lagrello
 * in-process instead of over HTTP. Failures reject with the core's typed errors (`NotFound`,
 * `Unauthorized`, `TooManyRequests`, ...: `Error` subclasses with a `_tag`).
 *
 * @since 0.0.0
 */
import type {
  Bootstrap,
  CreateTokenRequest,
  CreateUserRequest,
  Principal,
  UpdateTenantRequest,
  UpdateUserRequest
} from "@lagrello/core"
import { Access, EmailCode, Handoff, MagicLink, RecoveryCodes, Tenants, Tokens, Totp, Users } from "@lagrello/core"
import { Inject, Injectable } from "@nestjs/common"
import type * as Effect from "effect/Effect"
import { valueOrThrow } from "./http/errors.js"
import type { LagrelloContext, LagrelloRuntime, LagrelloServices } from "./runtime.js"
import { LAGRELLO_CONTEXT } from "./runtime.js"

/**
 * The operations of one tenant.
 * @since 0.0.0
 */
export class TenantOperations {
  constructor(
    private readonly service: LagrelloService,
    readonly tenantId: string
  ) {}

  createUser = (request: CreateUserRequest) => this.service.run(Users.create(this.tenantId, request))
  getUser = (userId: string) => this.service.run(Users.get(this.tenantId, userId))
  updateUser = (userId: string, request: UpdateUserRequest) =>
    this.service.run(Users.update(this.tenantId, userId, request))
  deleteUser = (userId: string) => this.service.run(Users.remove(this.tenantId, userId))

  /** E-mails the user a single-use sign-in link (through the outbox). */
  sendMagicLink = (userId: string) => this.service.run(MagicLink.send(this.tenantId, userId))
  /** Exchanges a magic-link token for its user, once. */
  verifyMagicLink = (token: string) => this.service.run(MagicLink.verify(this.tenantId, token))
  /** Starts TOTP enrolment: the secret and its QR image (pending until a code is verified). */
  enableTotp = (userId: string) => this.service.run(Totp.enable(this.tenantId, userId))
  disableTotp = (userId: string) => this.service.run(Totp.disable(this.tenantId, userId))
  /** Whether the user has a confirmed authenticator (a pending enrolment does not count). */
  hasTotp = (userId: string) => this.service.run(Totp.isEnabled(this.tenantId, userId))
  /** Checks a TOTP code: the user when right, else rejects with Unauthorized / TooManyRequests. */
  verifyTotp = (userId: string, code: string) => this.service.run(Totp.verify(this.tenantId, userId, code))

  getTenant = () => this.service.run(Tenants.get(this.tenantId))
  updateTenant = (request: UpdateTenantRequest) => this.service.run(Tenants.update(this.tenantId, request))

  // Beyond v1 (SPEC 5): recovery codes, the e-mail code, the sign-in handoff.

  /** A new set of recovery codes (shown once), replacing the old; rejects InvalidPayload without confirmed TOTP. */
  generateRecoveryCodes = (userId: string) => this.service.run(RecoveryCodes.generate(this.tenantId, userId))
  /** How many recovery codes are left, and when the set was made. */
  recoveryCodesStatus = (userId: string) => this.service.run(RecoveryCodes.status(this.tenantId, userId))
  /** Checks a recovery code and uses it up; rejects Unauthorized / TooManyRequests (the TOTP counter). */
  verifyRecoveryCode = (userId: string, code: string) => this.service.run(RecoveryCodes.verify(this.tenantId, userId, code))
  /** Checks the code of the user's last sign-in mail (using its link up too); rejects Unauthorized. */
  verifyEmailCode = (userId: string, code: string) => this.service.run(EmailCode.verify(this.tenantId, userId, code))
  /** Sends the sign-in mail of a handoff: show `matchNumber` on this device and wait with `handoffStatus`. */
  startHandoff = (userId: string) => this.service.run(Handoff.start(this.tenantId, userId))
  /** The handoff's status, waiting up to `waitSeconds` (at most 30) while pending; approved carries the user, once. */
  handoffStatus = (handoffId: string, waitSeconds = 0) => this.service.run(Handoff.status(this.tenantId, handoffId, waitSeconds))
  /** The three numbers to show where a handoff's link was opened (its token); consumes nothing. */
  handoffChoices = (token: string) => this.service.run(Handoff.choices(this.tenantId, token))
  /** Approves a handoff with the number picked; a wrong one rejects Unauthorized and burns the link. */
  approveHandoff = (token: string, matchNumber: number) => this.service.run(Handoff.approve(this.tenantId, token, matchNumber))
}

/** @since 0.0.0 */
@Injectable()
export class LagrelloService {
  /** The Effect runtime providing every service the core needs. */
  readonly runtime: LagrelloRuntime
  private readonly defaultTenant: TenantOperations | undefined

  /**
   * What the `bootstrap` option did: its tenant, and the ADMIN access token generated for it
   * when the tenant was created without a configured one (show it once; never log it).
   */
  readonly bootstrap: Tenants.Bootstrapped | undefined

  constructor(@Inject(LAGRELLO_CONTEXT) context: LagrelloContext) {
    this.runtime = context.runtime
    this.bootstrap = context.bootstrap
    this.defaultTenant =
      context.bootstrap === undefined ? undefined : new TenantOperations(this, context.bootstrap.tenant.tenantId)
  }

  /** Runs a core program; resolves with its value or rejects with its typed error. */
  async run<A, E>(program: Effect.Effect<A, E, LagrelloServices | Bootstrap>): Promise<A> {
    return valueOrThrow(await this.runtime.runPromiseExit(program))
  }

  /** The operations of a tenant by id. */
  forTenant(tenantId: string): TenantOperations {
    return new TenantOperations(this, tenantId)
  }

  /** The operations of the tenant of the `bootstrap` option. */
  get tenant(): TenantOperations {
    if (!this.defaultTenant) throw new Error("LagrelloService.tenant needs the bootstrap option; use forTenant(id)")
    return this.defaultTenant
  }

  /** Resolves an access token into its principal (tenant and permissions), or rejects with Forbidden. */
  authenticate = (accessToken: string) => this.run(Access.authenticate(accessToken))
  createToken = (principal: Principal, request: CreateTokenRequest) => this.run(Tokens.create(principal, request))
  listTokens = (principal: Principal, options?: Tokens.ListOptions) => this.run(Tokens.list(principal, options))
  revokeToken = (principal: Principal, tokenId: string) => this.run(Tokens.revoke(principal, tokenId))
}
