/**
 * The `images` group: `GET /v1/images/totp` renders the QR image of a key URI from its query
 * (no lookup, no access token), for clients that build the image URL themselves.
 *
 * @since 0.0.0
 */
import { qrPng, TotpImageParams, totpKeyUri } from "@lagrello/core"
import { Controller, Get, Header, Query, StreamableFile, UseFilters } from "@nestjs/common"
import { decodeOrThrow } from "../decode.js"
import { LagrelloExceptionFilter } from "../exception.filter.js"
import { LagrelloService } from "../../lagrello.service.js"

/** @since 0.0.0 */
@Controller("v1/images")
@UseFilters(LagrelloExceptionFilter)
export class ImagesController {
  constructor(private readonly runner: LagrelloService) {}

  @Get("totp")
  // The query holds a secret: never let a cache keep the answer.
  @Header("Cache-Control", "no-store")
  async totp(@Query() query: unknown): Promise<StreamableFile> {
    const { tenantName, userId, userSecret } = decodeOrThrow(TotpImageParams, query, "query")
    const png = await this.runner.run(qrPng(totpKeyUri({ issuer: tenantName, account: userId, secret: userSecret })))
    return new StreamableFile(png, { type: "image/png", length: png.byteLength })
  }
}
