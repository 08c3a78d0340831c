/**
 * What every way of signing in ends with (a magic link, the code from a mail, a handoff approved
 * on a phone): a new session (no session fixation), either signed in or, with an authenticator
 * on, waiting for its code.
 */
import { isRecoveryCode, normalizeCode } from "@lagrello/core"
import { Injectable } from "@nestjs/common"
import type { Session } from "./session.js"
import { SessionStore } from "./session.js"
import { DemoTenant } from "./tenant.js"

/** Where the browser goes next, and the session cookie to set. */
export interface SignedIn {
  readonly location: "/account" | "/signin/code"
  readonly setCookie: string
}

/** Whether a typed code is a recovery code (`xxxx-xxxx-xxxx-xxxx`) rather than an authenticator's. */
export const looksLikeRecoveryCode = (typed: string): boolean => isRecoveryCode(normalizeCode(typed))

@Injectable()
export class SignIns {
  constructor(
    private readonly sessions: SessionStore,
    private readonly tenant: DemoTenant
  ) {}

  /** `userId` proved the first factor: the next step, replacing `previous` (if any). */
  async complete(userId: string, previous: Session | undefined): Promise<SignedIn> {
    this.sessions.remove(previous)
    if (await this.tenant.hasTotp(userId)) {
      const pending = this.sessions.create({ pendingUserId: userId })
      return { location: "/signin/code", setCookie: this.sessions.cookie(pending) }
    }
    const signedIn = this.sessions.create({ userId })
    return { location: "/account", setCookie: this.sessions.cookie(signedIn) }
  }
}
