/**
 * `GET /health`: readiness. 200 `{"status":"ok"}` when the database answers a cheap query
 * through the module's runtime, else 503 in the v1 error shape.
 */
import { Storage } from "@lagrello/core"
import { LagrelloService } from "@lagrello/nest"
import { Controller, Get, Header, Res } from "@nestjs/common"
import * as Effect from "effect/Effect"
import { writeLog } from "../logger.js"

interface StatusResponse {
  status(code: number): unknown
}

/**
 * Looks up a tenant id that never exists: one indexed read. Disconnected before the timeout: an
 * interrupted PostgreSQL query is cancelled through the same (maybe unreachable) network, which
 * may take 5 s more; the probe answers at 2 s and leaves that cancellation behind.
 */
const probe = Effect.disconnect(Effect.flatMap(Storage, (storage) => storage.getTenant("health-probe"))).pipe(
  Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new Error("the database did not answer within 2 seconds") })
)

@Controller("health")
export class HealthController {
  constructor(private readonly lagrello: LagrelloService) {}

  @Get()
  @Header("Cache-Control", "no-store")
  async health(@Res({ passthrough: true }) response: StatusResponse) {
    try {
      await this.lagrello.run(probe)
      return { status: "ok" }
    } catch (error) {
      writeLog("warn", "health check failed", { error: error instanceof Error ? error.name : typeof error })
      response.status(503)
      return { errorType: "Unavailable", message: "The database is not reachable" }
    }
  }
}
