/**
 * The demo's browser sessions: a random id in an HttpOnly cookie, the session itself in memory.
 *
 * A session is created only when someone signs in (a magic link was used: signed in, or waiting
 * for the authenticator code), never for an anonymous visitor: the sign-in forms are protected
 * without server state (forms.ts). So the store grows only with sign-ins, which need a link from a
 * mail (each user's sends are throttled by the core, and `/signin` per client address and in
 * total), and it is bounded anyway: at most `maxSessions`, the least recently used dropped first,
 * idle ones after `idleMillis`. It does not survive a restart, which signs everyone out; a real
 * application keeps sessions in its database or a shared store.
 * Every session holds a CSRF token that each of its forms carries in a hidden field.
 */
import { randomBytes, timingSafeEqual } from "node:crypto"
import { Inject, Injectable } from "@nestjs/common"
import type { DemoConfig } from "../config.js"
import { DEMO_CONFIG } from "../tokens.js"

export const sessionCookie = "lagrello_demo_session"

/** Idle sessions end after this long. */
const idleMillis = 12 * 60 * 60 * 1000
/** At most this many sessions are kept (a few hundred bytes each); the least recently used go first. */
const maxSessions = 10_000

export interface TotpSetup {
  readonly secretKey: string
  readonly qrImage: string
}

export interface Session {
  readonly id: string
  readonly csrf: string
  /** Signed in as this user. */
  userId?: string | undefined
  /** The magic link was confirmed; an authenticator code is still needed (second factor). */
  pendingUserId?: string | undefined
  /** An authenticator enrolment waiting for its first code. */
  totpSetup?: TotpSetup | undefined
  /** A one-time notice for the next page. */
  notice?: string | undefined
  /** A new set of recovery codes, until the page that shows them once. */
  recoveryCodes?: { readonly codes: ReadonlyArray<string>; readonly createdAt: string } | undefined
  lastSeen: number
}

const newId = () => randomBytes(32).toString("base64url")

/** The value of one cookie in a `Cookie` header. */
export const cookieValue = (header: string | undefined, name: string): string | undefined => {
  if (header === undefined) return undefined
  for (const part of header.split(";")) {
    const eq = part.indexOf("=")
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** Compares two strings in constant time (for equal lengths). */
export const sameSecret = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

@Injectable()
export class SessionStore {
  private readonly sessions = new Map<string, Session>()
  private readonly secure: boolean

  constructor(@Inject(DEMO_CONFIG) config: DemoConfig) {
    this.secure = config.publicUrl.toLowerCase().startsWith("https:")
  }

  /** The session of the request's cookie, if it is live. */
  find(cookieHeader: string | undefined): Session | undefined {
    const id = cookieValue(cookieHeader, sessionCookie)
    if (id === undefined) return undefined
    const session = this.sessions.get(id)
    if (session === undefined) return undefined
    const now = Date.now()
    if (now - session.lastSeen > idleMillis) {
      this.sessions.delete(id)
      return undefined
    }
    session.lastSeen = now
    // Keep the Map in least-recently-used order.
    this.sessions.delete(id)
    this.sessions.set(id, session)
    return session
  }

  /** A new session (new id and CSRF token), carrying over `from` when given. */
  create(from: Partial<Omit<Session, "id" | "csrf" | "lastSeen">> = {}): Session {
    while (this.sessions.size >= maxSessions) {
      const oldest = this.sessions.keys().next().value
      if (oldest === undefined) break
      this.sessions.delete(oldest)
    }
    const session: Session = { ...from, id: newId(), csrf: newId(), lastSeen: Date.now() }
    this.sessions.set(session.id, session)
    return session
  }

  /** Ends a session. */
  remove(session: Session | undefined): void {
    if (session !== undefined) this.sessions.delete(session.id)
  }

  /** The `Set-Cookie` value for a session (or one that clears the cookie). */
  cookie(session: Session | undefined): string {
    const attributes = ["HttpOnly", "SameSite=Lax", "Path=/", ...(this.secure ? ["Secure"] : [])]
    return session === undefined
      ? [`${sessionCookie}=`, "Max-Age=0", ...attributes].join("; ")
      : [`${sessionCookie}=${session.id}`, ...attributes].join("; ")
  }
}
