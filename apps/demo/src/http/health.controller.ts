/**
 * `GET /health`: readiness. 200 `{"status":"ok","version"}` when the database answers a cheap
 * query through the module's runtime, else 503 in the v1 error shape.
 * `GET /health/live`: liveness. 200 `{"status":"ok","version"}` while the process answers HTTP,
 * without touching the database: an orchestrator that restarts on a failed liveness probe must
 * not restart every replica because the database is down (that is what readiness tells).
 * `version` is the demo's version (its package.json).
 */
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Health } from "@lagrello/core"
import { LagrelloService } from "@lagrello/nest"
import { Controller, Get, Header, Res } from "@nestjs/common"
import { writeLog } from "../logger.js"

interface StatusResponse {
  status(code: number): unknown
}

/** The version in the demo's package.json, found upwards from this module (dist/ or dist/bundle/). */
const demoVersion = (): string => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown }
      if (manifest.name === "@lagrello/demo" && typeof manifest.version === "string") return manifest.version
    } catch {
      // No package.json here: one level up.
    }
  }
  return "unknown"
}

export const version = demoVersion()

@Controller("health")
export class HealthController {
  constructor(private readonly lagrello: LagrelloService) {}

  @Get()
  @Header("Cache-Control", "no-store")
  async health(@Res({ passthrough: true }) response: StatusResponse) {
    try {
      await this.lagrello.run(Health.ready())
      return { status: "ok", version }
    } catch (error) {
      writeLog("warn", "health check failed", { error: error instanceof Error ? error.name : typeof error })
      response.status(503)
      return { errorType: "Unavailable", message: "The database is not reachable" }
    }
  }

  @Get("live")
  @Header("Cache-Control", "no-store")
  live() {
    return { status: "ok", version }
  }
}
