/**
 * The v1 routes on the HTTP adapter (mounted by routes.ts), and what the adapter does before a
 * request reaches them (body parsing, size limits, unknown routes) answered in the v1 error
 * shape, for the v1 routes only: the host application's other routes keep the adapter's
 * behaviour.
 *
 * - Fastify: an empty body sent as `application/json` is accepted (SPEC 1.5: the generated SDKs
 *   send one with operations that take no body); a body that is not JSON reaches the controller as
 *   an `UnreadableBody`, so the access token is still checked first (SPEC 1.8); errors raised by
 *   Fastify itself (body too large, unsupported media type) are rewritten by an `onSend` hook.
 * - Express: body-parser errors (malformed JSON, body too large) are answered by an error
 *   middleware, before the guard runs (body-parser runs before any route).
 *
 * @since 0.0.0
 */
import type { OnModuleInit } from "@nestjs/common"
import { Inject, Injectable, Logger } from "@nestjs/common"
import { HttpAdapterHost } from "@nestjs/core"
import type { LagrelloModuleExtras } from "../options.js"
import { LAGRELLO_EXTRAS } from "../lagrello.module-definition.js"
import type { LagrelloContext } from "../runtime.js"
import { LAGRELLO_CONTEXT } from "../runtime.js"
import { mountRoutes } from "./routes.js"

/** The routes' path prefix: `""`, or `/auth` for the extra `prefix: "auth"`. @internal */
export const routePrefix = (extras: LagrelloModuleExtras): string => {
  const prefix = (extras.prefix ?? "").replace(/^\/+|\/+$/g, "")
  return prefix === "" ? "" : `/${prefix}`
}
import { errorTypeOfStatus, internalErrorBody, UnreadableBody } from "@lagrello/core"

type Done = (error: Error | null, body?: unknown) => void
interface FastifyLike {
  readonly initialConfig?: {
    readonly maxParamLength?: number
    readonly routerOptions?: { readonly maxParamLength?: number }
  }
  hasContentTypeParser(type: string): boolean
  removeContentTypeParser(type: string): void
  addContentTypeParser(
    type: string,
    options: { parseAs: "string" },
    parser: (request: { url: string }, body: string, done: Done) => void
  ): void
  getDefaultJsonParser(onProto: "error", onConstructor: "error"): (request: unknown, body: string, done: Done) => void
  addHook(
    name: "onSend",
    hook: (
      request: { url: string },
      reply: { statusCode: number; code(status: number): unknown; header(name: string, value: string): unknown },
      payload: unknown,
      done: Done
    ) => void
  ): void
}
interface ExpressLike {
  use(
    handler: (
      error: { status?: number; statusCode?: number; type?: string },
      request: { originalUrl?: string; url: string },
      response: { status(code: number): { json(body: unknown): void } },
      next: (error?: unknown) => void
    ) => void
  ): void
}

const bodyMessage = (status: number, fallback: string) =>
  status === 413 ? "The body is too large" : status === 415 ? "The body must be sent as application/json" : fallback

/** @since 0.0.0 */
@Injectable()
export class LagrelloAdapterSetup implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(LAGRELLO_EXTRAS) private readonly extras: LagrelloModuleExtras,
    @Inject(LAGRELLO_CONTEXT) private readonly context: LagrelloContext
  ) {}

  onModuleInit(): void {
    if (this.extras.routes === false) return
    const adapter = this.adapterHost.httpAdapter
    if (!adapter) return
    const prefix = routePrefix(this.extras)
    const base = `${prefix}/v1/`
    const ours = (url: string) => url.startsWith(base)
    const type = adapter.getType()
    if (type === "fastify") {
      this.setupFastify(adapter.getInstance<FastifyLike>(), ours)
      mountRoutes({ type, router: adapter.getInstance() }, this.context.runtime, prefix, { metrics: this.context.metrics })
    } else if (type === "express") {
      this.setupExpress(adapter.getInstance<ExpressLike>(), ours)
      mountRoutes({ type, router: adapter.getInstance() }, this.context.runtime, prefix, { metrics: this.context.metrics })
    } else {
      new Logger("Lagrello").warn(`The ${type} HTTP adapter is not supported: the v1 routes are not served`)
    }
  }

  private setupFastify(fastify: FastifyLike, ours: (url: string) => boolean) {
    // A userId has up to 128 characters (more once percent-encoded); Fastify's router refuses
    // longer parameters than `maxParamLength` (default 100) with a 404.
    const config = fastify.initialConfig
    const maxParamLength = config?.routerOptions?.maxParamLength ?? config?.maxParamLength ?? 100
    if (maxParamLength < 1536) {
      new Logger("Lagrello").warn(
        `Fastify maxParamLength is ${maxParamLength}: user ids longer than that answer 404. ` +
          "Create the adapter with new FastifyAdapter({ routerOptions: { maxParamLength: 2048 } })."
      )
    }
    const defaultJson = fastify.getDefaultJsonParser("error", "error")
    if (fastify.hasContentTypeParser("application/json")) fastify.removeContentTypeParser("application/json")
    fastify.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
      if (!ours(request.url)) return defaultJson(request, body, done)
      if (body.length === 0) return done(null, undefined)
      defaultJson(request, body, (error, parsed) =>
        done(null, error ? new UnreadableBody("The body is not valid JSON") : parsed)
      )
    })
    // A callback hook, not an async one: it runs on every answer, and an async hook costs a
    // promise and a turn of the microtask queue each time.
    fastify.addHook("onSend", (request, reply, payload, done) => {
      if (reply.statusCode < 400 || !ours(request.url) || typeof payload !== "string" || payload.includes('"errorType"')) {
        return done(null, payload)
      }
      const status = reply.statusCode
      const answered = status === 404 ? 404 : status >= 500 ? status : 400
      const errorType = errorTypeOfStatus(answered) ?? internalErrorBody.errorType
      reply.code(answered)
      reply.header("content-type", "application/json; charset=utf-8")
      let message = status === 404 ? "No such endpoint in the Lagrello v1 API" : "The request is not valid"
      try {
        const parsed: unknown = JSON.parse(payload)
        if (status !== 404 && typeof parsed === "object" && parsed !== null && "message" in parsed) {
          message = bodyMessage(status, String(parsed.message))
        }
      } catch {
        // not JSON: keep the generic message
      }
      done(null, JSON.stringify({ errorType, message }))
    })
  }

  private setupExpress(express: ExpressLike, ours: (url: string) => boolean) {
    express.use((error, request, response, next) => {
      const status = error.status ?? error.statusCode ?? 500
      if (!ours(request.originalUrl ?? request.url) || status >= 500) return next(error)
      const message = error.type === "entity.parse.failed" ? "The body is not valid JSON" : bodyMessage(status, "The request is not valid")
      response.status(400).json({ errorType: "InvalidPayload", message })
    })
  }
}
