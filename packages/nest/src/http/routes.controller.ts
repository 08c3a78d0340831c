/**
 * The v1 routes, mounted from the contract: one Nest route for every endpoint of the core's
 * derived `routes` (method, path), each running the route's one Effect program (authenticate,
 * permission, decode, operation, encode) and writing the answer it gives. No path, status,
 * schema or permission is written here.
 *
 * After them come the fixed answers: the hosted service's endpoints a self-hosted server does not
 * have, and any other `/v1/...` path (404 in the v1 shape).
 *
 * The routes are methods of one controller made at start-up, so that they go through Nest's own
 * router on both adapters: the host application's global guards, interceptors and exception
 * filters apply to them as to its own routes (its pipes do not: the methods take the raw request
 * and reply). The effect starts synchronously: a request whose steps are all synchronous (a
 * SQLite read) is answered without leaving the call.
 *
 * @since 0.0.0
 */
import type { Answer, ClientRateLimiter, HandlerServices, IncomingRequest, Route } from "@lagrello/core"
import { internalAnswer, notSelfHostedAnswer, notSelfHostedEndpoints, routes, unknownEndpointAnswer } from "@lagrello/core"
import { Controller, Inject, RequestMapping, RequestMethod, Req, Res, UseFilters } from "@nestjs/common"
import { HttpAdapterHost } from "@nestjs/core"
import * as Exit from "effect/Exit"
import type { LagrelloContext, LagrelloRuntime } from "../runtime.js"
import { LAGRELLO_CONTEXT } from "../runtime.js"
import { LagrelloExceptionFilter } from "./exception.filter.js"

/**
 * What the route reads of Fastify's and Express's requests.
 * @since 0.0.0
 */
export interface HttpRequest {
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly params?: unknown
  readonly query?: unknown
  readonly body?: unknown
  /** Fastify's and Express's client address (as their `trustProxy` settings say). */
  readonly ip?: string | undefined
}

/**
 * What Fastify's reply and Express's response both have, and the route writes with.
 * @since 0.0.0
 */
export interface HttpReply {
  status(code: number): unknown
  header(name: string, value: string): unknown
  send(body?: unknown): unknown
}

const header = (request: HttpRequest, name: string): string | undefined => {
  const value = request.headers[name]
  return typeof value === "string" ? value : undefined
}

const incoming = (request: HttpRequest): IncomingRequest => ({
  authorization: header(request, "authorization"),
  contentType: header(request, "content-type"),
  params: request.params ?? {},
  query: request.query ?? {},
  body: request.body,
  clientAddress: request.ip
})

const write = (reply: HttpReply, answer: Answer): void => {
  reply.status(answer.status)
  for (const name in answer.headers) reply.header(name, answer.headers[name]!)
  const body = answer.body
  if (body === undefined) reply.send()
  else reply.send(typeof body === "string" ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength))
}

/**
 * Express takes the first route that matches, so a path with a fixed segment must come before
 * one with a parameter in its place (`/v1/users/email` before `/v1/users/:userId`); Fastify
 * decides by specificity itself.
 */
const bySpecificity = (a: Route<unknown>, b: Route<unknown>): number => {
  const left = a.path.split("/")
  const right = b.path.split("/")
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const l = left[i]!.startsWith(":")
    const r = right[i]!.startsWith(":")
    if (l !== r) return l ? 1 : -1
  }
  return 0
}

/**
 * The routes in the order they are mounted.
 * @since 0.0.0
 */
export const mountedRoutes: ReadonlyArray<Route<HandlerServices | ClientRateLimiter>> = [...routes].sort(bySpecificity)

/** @since 0.0.0 */
@Controller()
@UseFilters(LagrelloExceptionFilter)
export class LagrelloRoutesController {
  private readonly runtime: LagrelloRuntime

  constructor(@Inject(LAGRELLO_CONTEXT) context: LagrelloContext, readonly adapterHost: HttpAdapterHost) {
    this.runtime = context.runtime
  }

  /** Answers one request of `route`. */
  serve(route: Route<HandlerServices | ClientRateLimiter>, request: HttpRequest, reply: HttpReply): void {
    this.runtime.runCallback(route.handle(incoming(request)), {
      // `handle` never fails; a failure here is the runtime's own (it was disposed).
      onExit: (exit) => write(reply, Exit.isSuccess(exit) ? exit.value : internalAnswer)
    })
  }
}

const prototype = LagrelloRoutesController.prototype as unknown as Record<string, unknown>

/** Adds a route method to the controller, in order. */
const mount = (
  key: string,
  method: RequestMethod,
  path: string,
  serve: (controller: LagrelloRoutesController, request: HttpRequest, reply: HttpReply) => void
) => {
  Object.defineProperty(prototype, key, {
    value: function(this: LagrelloRoutesController, request: HttpRequest, reply: HttpReply) {
      serve(this, request, reply)
    },
    writable: true,
    configurable: true
  })
  RequestMapping({ path, method })(prototype, key, Object.getOwnPropertyDescriptor(prototype, key)!)
  Req()(prototype, key, 0)
  Res()(prototype, key, 1)
}

for (const route of mountedRoutes) {
  mount(`${route.group}_${route.name}`, RequestMethod[route.method as keyof typeof RequestMethod], route.path, (controller, request, reply) =>
    controller.serve(route, request, reply))
}
for (const [index, endpoint] of notSelfHostedEndpoints.entries()) {
  mount(`notSelfHosted_${index}`, RequestMethod[endpoint.method as keyof typeof RequestMethod], endpoint.path, (_, __, reply) => write(reply, notSelfHostedAnswer))
}
mount("unknownEndpoint", RequestMethod.ALL, "/v1/*", (_, __, reply) => write(reply, unknownEndpointAnswer))
