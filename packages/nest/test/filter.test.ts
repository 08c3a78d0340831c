/**
 * `LagrelloExceptionFilter` on an application's own routes (`@UseFilters`), on both adapters: the
 * core's typed errors answer their v1 status and shape; Nest's HTTP exceptions keep a status v1
 * knows (your own 401 stays 401) and become 400 otherwise.
 */
import "reflect-metadata"
import { Controller, Get, MethodNotAllowedException, Module, UnauthorizedException, UseFilters } from "@nestjs/common"
import { NestFactory } from "@nestjs/core"
import { ExpressAdapter } from "@nestjs/platform-express"
import { FastifyAdapter } from "@nestjs/platform-fastify"
import type { INestApplication } from "@nestjs/common"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { LagrelloExceptionFilter, LagrelloModule, LagrelloService } from "../src/index.js"
import { options } from "./support.js"

@Controller("mine")
@UseFilters(LagrelloExceptionFilter)
class MineController {
  constructor(private readonly lagrello: LagrelloService) {}

  @Get("missing-user")
  missingUser() {
    return this.lagrello.tenant.getUser("nobody")
  }

  @Get("unauthorized")
  unauthorized() {
    throw new UnauthorizedException("Sign in first")
  }

  @Get("not-allowed")
  notAllowed() {
    throw new MethodNotAllowedException()
  }

  @Get("bug")
  bug() {
    throw new Error("a bug, with a secret: lgr_do_not_leak")
  }
}

@Module({ imports: [LagrelloModule.forRoot({ ...options(), outbox: { enabled: false }, routes: false })], controllers: [MineController] })
class AppModule {}

describe.each(["fastify", "express"] as const)("LagrelloExceptionFilter on your own routes (%s)", (adapter) => {
  let app: INestApplication
  let url: string
  beforeAll(async () => {
    app = await NestFactory.create(AppModule, adapter === "fastify" ? new FastifyAdapter() : new ExpressAdapter(), { logger: false })
    await app.listen(0, "127.0.0.1")
    url = (await app.getUrl()).replace("[::1]", "127.0.0.1")
  })
  afterAll(() => app.close())

  const get = async (path: string) => {
    const response = await fetch(`${url}/mine/${path}`)
    return { status: response.status, body: (await response.json()) as unknown }
  }

  it("answers a typed error of the core with its status and the v1 shape", async () => {
    expect(await get("missing-user")).toEqual({ status: 404, body: { errorType: "NotFound", message: expect.any(String) } })
  })

  it("keeps the status of a Nest exception that v1 has", async () => {
    expect(await get("unauthorized")).toEqual({ status: 401, body: { errorType: "Unauthorized", message: "Sign in first" } })
  })

  it("answers 400 for a Nest exception whose status v1 does not have", async () => {
    expect(await get("not-allowed")).toEqual({ status: 400, body: { errorType: "InvalidPayload", message: expect.any(String) } })
  })

  it("answers 500 without the error's message for anything else", async () => {
    const answer = await get("bug")
    expect(answer.status).toBe(500)
    expect(JSON.stringify(answer.body)).not.toContain("lgr_do_not_leak")
  })
})
