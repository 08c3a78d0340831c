/** Answers of the sign-in pages, the same way on Fastify and Express (both have these methods). */
import { webPageHeaders } from "./layout.js"

export interface WebReply {
  status(code: number): unknown
  /** An array sends the header once per value (both adapters do; Set-Cookie needs it). */
  header(name: string, value: string | ReadonlyArray<string>): unknown
  send(body: string): unknown
}

export interface WebRequest {
  readonly headers: Record<string, string | ReadonlyArray<string> | undefined>
  /** The client's address (Fastify's `request.ip`, Express's `req.ip`). */
  readonly ip?: string | undefined
  readonly socket?: { readonly remoteAddress?: string | undefined } | undefined
}

/** The `Cookie` header of a request. */
export const cookieHeader = (request: WebRequest): string | undefined => {
  const value = request.headers.cookie
  return typeof value === "string" ? value : undefined
}

/** Sends an HTML page with the page headers (and `Set-Cookie` when given). */
export const sendPage = (reply: WebReply, status: number, html: string, setCookie?: string | ReadonlyArray<string>): void => {
  reply.status(status)
  for (const [name, value] of webPageHeaders) reply.header(name, value)
  if (setCookie !== undefined) reply.header("Set-Cookie", setCookie)
  reply.send(html)
}

/** A 303 to a path of the demo (a relative location: the browser stays on the origin it uses). */
export const redirect = (reply: WebReply, location: string, setCookie?: string | ReadonlyArray<string>): void => {
  reply.status(303)
  for (const [name, value] of webPageHeaders) reply.header(name, value)
  reply.header("Location", location)
  if (setCookie !== undefined) reply.header("Set-Cookie", setCookie)
  reply.send("")
}

/** A text field of a urlencoded form body. */
export const field = (body: unknown, name: string): string | undefined => {
  if (typeof body !== "object" || body === null) return undefined
  const value = (body as Record<string, unknown>)[name]
  return typeof value === "string" ? value : undefined
}
