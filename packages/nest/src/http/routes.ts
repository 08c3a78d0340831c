/**
 * The v1 routes, mounted from the contract on the HTTP adapter's own router (Fastify's, or
 * Express's): one route for every endpoint of the core's derived `routes` (method, path), each
 * running the route's one Effect program (authenticate, permission, decode, operation, encode)
 * and writing the answer it gives. No path, status, schema or permission is written here. After
 * them come the fixed answers: the hosted service's endpoints a self-hosted server does not have,
 * and any other `/v1/...` path (404 in the v1 shape).
 *
 * Mounted on the adapter rather than as methods of a Nest controller: measured here (get user,
 * 50 connections, CPU time per request on the demo server), a Nest controller route took
 * 47-53 us of CPU per request and the same program on Fastify's router 36-39 us (0.48-0.65x and
 * 0.70-0.92x a raw node:http handler doing the same work). So the host application's guards,
 * interceptors, pipes and exception filters do not run on these routes; its middleware does (see
 * the README). The effect starts synchronously: a request whose steps are all synchronous (a
 * SQLite read) is answered without leaving the call.
 *
 * @since 0.0.0
 */
import type { Answer, ClientRateLimiter, HandlerServices, IncomingRequest, Route } from "@lagrello/core"
import {
  internalAnswer,
  metricsText,
  notSelfHostedAnswer,
  notSelfHostedEndpoints,
  prometheusContentType,
  routes,
  unknownEndpointAnswer
} from "@lagrello/core"
import * as Exit from "effect/Exit"
import type { LagrelloRuntime } from "../runtime.js"

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

const traceIds = new WeakMap<object, string>()

/**
 * The trace id of the request's span, once one of the routes answered the request (for a request
 * log written when the answer is sent, e.g. in Fastify's `onResponse` hook); undefined for other
 * requests.
 * @since 0.0.0
 */
export const traceIdOf = (request: object): string | undefined => traceIds.get(request)

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

/**
 * A route handler of both routers: `(request, reply)`.
 * @since 0.0.0
 */
export type Handler = (request: HttpRequest, reply: HttpReply) => void

/**
 * What the routes need of Fastify's instance.
 * @since 0.0.0
 */
export interface FastifyRouter {
  route(options: { readonly method: string; readonly url: string; readonly handler: Handler }): unknown
  all(path: string, handler: Handler): unknown
}

/**
 * What the routes need of Express's application.
 * @since 0.0.0
 */
export type ExpressRouter = Record<"get" | "post" | "put" | "patch" | "delete" | "all", (path: string, handler: Handler) => unknown>

/**
 * What else to mount beside the v1 routes.
 * @since 0.0.0
 */
export interface MountOptions {
  /** `GET /metrics`: the metrics as Prometheus text (the `telemetry.prometheus` option). */
  readonly metrics?: boolean | undefined
}

const metricsHandler = (runtime: LagrelloRuntime): Handler => (_request, reply) => {
  runtime.runCallback(metricsText, {
    onExit: (exit) =>
      write(
        reply,
        Exit.isSuccess(exit)
          ? { status: 200, headers: { "content-type": prometheusContentType, "cache-control": "no-store" }, body: exit.value }
          : internalAnswer
      )
  })
}

/** The routes to mount, in order: the contract's, then the fixed answers. */
const entries = (
  runtime: LagrelloRuntime,
  options: MountOptions
): ReadonlyArray<{ readonly method: string; readonly path: string; readonly handler: Handler }> => [
  ...mountedRoutes.map((route) => ({
    method: route.method,
    path: route.path,
    handler: (request: HttpRequest, reply: HttpReply): void => {
      // Nothing is returned: Fastify would send a handler's return value (here the fiber's cancel
      // function) at once, before an asynchronous answer (a write waits for its commit).
      runtime.runCallback(route.handle(incoming(request)), {
        // `handle` never fails; a failure here is the runtime's own (it was disposed).
        onExit: (exit) => {
          if (Exit.isSuccess(exit)) {
            if (exit.value.traceId !== undefined) traceIds.set(request, exit.value.traceId)
            write(reply, exit.value)
          } else {
            write(reply, internalAnswer)
          }
        }
      })
    }
  })),
  ...(options.metrics === true ? [{ method: "GET", path: "/metrics", handler: metricsHandler(runtime) }] : []),
  ...notSelfHostedEndpoints.map((endpoint) => ({
    method: endpoint.method,
    path: endpoint.path,
    handler: (_: HttpRequest, reply: HttpReply) => write(reply, notSelfHostedAnswer)
  })),
  { method: "ALL", path: "/v1/*", handler: (_: HttpRequest, reply: HttpReply) => write(reply, unknownEndpointAnswer) }
]

/**
 * Mounts the routes on the adapter's router under `prefix` (`""` or `/auth`), answering with the
 * runtime's services; `GET /metrics` too with `options.metrics`.
 * @since 0.0.0
 */
export const mountRoutes = (
  adapter: { readonly type: "fastify"; readonly router: FastifyRouter } | { readonly type: "express"; readonly router: ExpressRouter },
  runtime: LagrelloRuntime,
  prefix: string,
  options: MountOptions = {}
): void => {
  for (const { handler, method, path } of entries(runtime, options)) {
    const url = `${prefix}${path}`
    if (adapter.type === "fastify") {
      if (method === "ALL") adapter.router.all(url, handler)
      else adapter.router.route({ method, url, handler })
    } else {
      // Express 5 names its wildcards.
      const verb = method.toLowerCase() as keyof ExpressRouter
      adapter.router[verb](url.replace(/\/\*$/, "/*path"), handler)
    }
  }
}
