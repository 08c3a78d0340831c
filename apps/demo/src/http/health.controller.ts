/**
 * `GET /health`: readiness. 200 `{"status":"ok"}` when the database answers a cheap query
 * through the module's runtime, else 503 in the v1 error shape.
 */
import { Health } from "@lagrello/core"
import { LagrelloService } from "@lagrello/nest"
import { Controller, Get, Header, Res } from "@nestjs/common"
import { writeLog } from "../logger.js"

interface StatusResponse {
  status(code: number): unknown
}

@Controller("health")
export class HealthController {
  constructor(private readonly lagrello: LagrelloService) {}

  @Get()
  @Header("Cache-Control", "no-store")
  async health(@Res({ passthrough: true }) response: StatusResponse) {
    try {
      await this.lagrello.run(Health.ready())
      return { status: "ok" }
    } catch (error) {
      writeLog("warn", "health check failed", { error: error instanceof Error ? error.name : typeof error })
      response.status(503)
      return { errorType: "Unavailable", message: "The database is not reachable" }
    }
  }
}
