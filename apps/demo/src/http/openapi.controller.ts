/** `GET /openapi.json`: the OpenAPI 3 document of the v1 API, from the core's contract. */
import { openApiDocument } from "@lagrello/core"
import { Controller, Get, Header, Inject } from "@nestjs/common"
import type { DemoConfig } from "../config.js"
import { DEMO_CONFIG } from "../tokens.js"

@Controller("openapi.json")
export class OpenApiController {
  private readonly document: string

  constructor(@Inject(DEMO_CONFIG) config: DemoConfig) {
    this.document = JSON.stringify({ ...openApiDocument(), servers: [{ url: config.publicUrl }] })
  }

  @Get()
  @Header("Content-Type", "application/json; charset=utf-8")
  @Header("Cache-Control", "no-cache")
  openApi(): string {
    return this.document
  }
}
