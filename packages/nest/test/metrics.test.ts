/**
 * `GET /metrics` of the module (the `telemetry.prometheus` option) on Fastify and Express: the
 * Prometheus text of the registry, whose request counter moves with the v1 requests; not served
 * without the option. And `traceIdOf`: the trace id of the span of a request a route answered.
 */
import type { INestApplication } from "@nestjs/common"
import { afterEach, describe, expect, it } from "vitest"
import type { FastifyRouter, Handler, HttpRequest } from "../src/index.js"
import { createLagrelloContext, mountRoutes, traceIdOf } from "../src/index.js"
import type { AdapterName } from "./support.js"
import { adminToken, options, startApp } from "./support.js"

let app: INestApplication | undefined

afterEach(async () => {
  await app?.close()
  app = undefined
})

const counter = (text: string, line: string): number => {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `))
  return found === undefined ? 0 : Number(found.slice(line.length + 1))
}

describe.each<AdapterName>(["fastify", "express"])("GET /metrics on %s", (adapter) => {
  it("serves the Prometheus text with the option, the counters moving with the requests", async () => {
    const started = await startApp(adapter, options({ telemetry: { prometheus: true } }))
    app = started.app
    const scrape = async () => {
      const response = await fetch(`${started.url}/metrics`)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
      return response.text()
    }
    const line = 'lagrello_http_requests_total{route="/v1/tenant",method="GET",status="200"}'
    const before = counter(await scrape(), line)
    for (let i = 0; i < 2; i++) {
      const answer = await fetch(`${started.url}/v1/tenant`, { headers: { authorization: `Bearer ${adminToken}` } })
      expect(answer.status).toBe(200)
    }
    const text = await scrape()
    expect(counter(text, line) - before).toBe(2)
    expect(text).toContain("# TYPE lagrello_http_request_duration_seconds histogram")
    expect(text).not.toContain(adminToken)
  })

  it("does not serve it without the option", async () => {
    const started = await startApp(adapter)
    app = started.app
    expect((await fetch(`${started.url}/metrics`)).status).toBe(404)
  })
})

/** The routes mounted on a router that keeps their handlers, called with plain request and reply objects. */
const mounted = async (moduleOptions: ReturnType<typeof options>) => {
  const context = await createLagrelloContext(moduleOptions)
  const handlers = new Map<string, Handler>()
  const router: FastifyRouter = {
    route: ({ handler, method, url }) => handlers.set(`${method} ${url}`, handler),
    all: (path, handler) => handlers.set(`ALL ${path}`, handler)
  }
  mountRoutes({ type: "fastify", router }, context.runtime, "")
  const call = (key: string, request: HttpRequest) =>
    new Promise<number>((resolve) => {
      let status = 0
      handlers.get(key)!(request, {
        status: (code) => (status = code),
        header: () => undefined,
        send: () => resolve(status)
      })
    })
  return { call, dispose: () => context.runtime.dispose() }
}

describe("traceIdOf", () => {
  it("answers the trace id of the span of a request a v1 route answered, nothing for other requests", async () => {
    // Spans on (for a tracer of one's own; here Effect's default one): every request has one.
    const { call, dispose } = await mounted(options({ telemetry: { spans: true } }))
    try {
      const answered: HttpRequest = { headers: { authorization: `Bearer ${adminToken}` } }
      expect(await call("GET /v1/tenant", answered)).toBe(200)
      expect(traceIdOf(answered)).toMatch(/^[0-9a-f]{32}$/)
      const other: HttpRequest = { headers: {} }
      expect(await call("ALL /v1/*", other)).toBe(404)
      expect(traceIdOf(other)).toBeUndefined()
      const second: HttpRequest = { headers: { authorization: `Bearer ${adminToken}` } }
      await call("GET /v1/tenant", second)
      expect(traceIdOf(second)).not.toBe(traceIdOf(answered))
    } finally {
      await dispose()
    }
  })

  it("answers nothing while spans are off (no telemetry option): no span is made", async () => {
    const { call, dispose } = await mounted(options())
    try {
      const request: HttpRequest = { headers: { authorization: `Bearer ${adminToken}` } }
      expect(await call("GET /v1/tenant", request)).toBe(200)
      expect(traceIdOf(request)).toBeUndefined()
    } finally {
      await dispose()
    }
  })
})
