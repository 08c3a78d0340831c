/**
 * The waiting device's side of a handoff (SPEC 5.3) keeps no server state (no session exists
 * before sign-in): the handoff's id, its number and the address are in an HttpOnly cookie of
 * the `/signin` paths, for as long as the link lives. The id is a secret, but only the demo's back
 * end can use it (with its access token), and a stolen cookie would give no more than a stolen
 * session cookie.
 */
import { Inject, Injectable } from "@nestjs/common"
import type { DemoConfig } from "../config.js"
import { DEMO_CONFIG } from "../tokens.js"
import { cookieValue } from "./session.js"

export const handoffCookieName = "lagrello_demo_handoff"

export interface WaitingHandoff {
  readonly handoffId: string
  readonly matchNumber: number
  readonly email: string
}

const shape = /^([A-Za-z0-9_-]{43})\.(\d{2})\.([A-Za-z0-9_-]{1,400})$/

@Injectable()
export class HandoffCookie {
  private readonly attributes: ReadonlyArray<string>

  constructor(@Inject(DEMO_CONFIG) config: DemoConfig) {
    this.attributes = ["HttpOnly", "SameSite=Lax", "Path=/signin", ...(config.publicUrl.toLowerCase().startsWith("https:") ? ["Secure"] : [])]
  }

  /** The handoff of a request's cookie, if it has a well-formed one. */
  read(cookieHeader: string | undefined): WaitingHandoff | undefined {
    const match = shape.exec(cookieValue(cookieHeader, handoffCookieName) ?? "")
    if (match === null) return undefined
    return { handoffId: match[1]!, matchNumber: Number(match[2]), email: Buffer.from(match[3]!, "base64url").toString("utf8") }
  }

  /** The `Set-Cookie` value that keeps a handoff for `maxAgeSeconds` (or clears it). */
  cookie(handoff: WaitingHandoff | undefined, maxAgeSeconds = 600): string {
    if (handoff === undefined) return [`${handoffCookieName}=`, "Max-Age=0", ...this.attributes].join("; ")
    const value = `${handoff.handoffId}.${String(handoff.matchNumber).padStart(2, "0")}.${Buffer.from(handoff.email).toString("base64url")}`
    return [`${handoffCookieName}=${value}`, `Max-Age=${Math.max(1, Math.floor(maxAgeSeconds))}`, ...this.attributes].join("; ")
  }
}
