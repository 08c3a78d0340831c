/**
 * Builds and starts the demo application from a checked configuration.
 */
import "reflect-metadata"
import type { Server } from "node:http"
import type { INestApplication } from "@nestjs/common"
import { NestFactory } from "@nestjs/core"
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify"
import type { AbstractHttpAdapter } from "@nestjs/core"
import { AppModule } from "./app.module.js"
import type { DemoConfig } from "./config.js"
import { answerClientError } from "./http/client-error.js"
import { installRequestLog, logRequest } from "./http/request-log.js"
import { lockData } from "./data-lock.js"
import { ensureKeyFile } from "./keyfile.js"
import { JsonLogger, writeLog, writeLogNow } from "./logger.js"

const telemetrySummary = (config: DemoConfig): string => {
  const { otlp, prometheus } = config.telemetry
  const exported = otlp === undefined ? [] : [...(otlp.traces ? ["traces"] : []), ...(otlp.metrics ? ["metrics"] : [])]
  const parts = [...(exported.length > 0 ? [`OTLP ${exported.join(" and ")}`] : []), ...(prometheus ? ["/metrics"] : [])]
  return parts.length === 0 ? "off" : parts.join(", ")
}

/** Body size limit of Fastify (the module answers larger bodies with a 400); Express keeps Nest's 100 KB. */
export const bodyLimitBytes = 1024 * 1024

/** The HTTP adapter; only the chosen one is loaded (each takes a while to import). */
const httpAdapter = async (config: DemoConfig): Promise<AbstractHttpAdapter> => {
  if (config.adapter === "express") {
    const { ExpressAdapter } = await import("@nestjs/platform-express")
    return new ExpressAdapter()
  }
  const { FastifyAdapter } = await import("@nestjs/platform-fastify")
  return new FastifyAdapter({
    bodyLimit: bodyLimitBytes,
    // A userId is up to 128 characters, each up to 12 once percent-encoded (Fastify's default is 100).
    routerOptions: { maxParamLength: 2048 },
    clientErrorHandler: answerClientError,
    // While stopping, requests that still arrive on open keep-alive connections are answered
    // (with Connection: close) instead of Fastify's own 503 body.
    return503OnClosing: false,
    // Malformed percent-encoding in the path (FST_ERR_BAD_URL), which no hook sees.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const message = error.code === "FST_ERR_BAD_URL" ? "The path is not valid" : "The request is not valid"
      void reply.code(400).type("application/json; charset=utf-8").send({ errorType: "InvalidPayload", message })
      logRequest(request.method, undefined, 400, reply.elapsedTime)
    }
  })
}

/** The encryption keys: configured, or the key file beside the database (created at the first start). */
export const encryptionKeysOf = (config: DemoConfig): string => {
  if (config.encryptionKey.kind === "configured") return config.encryptionKey.keys
  const file = ensureKeyFile(config.encryptionKey.path, config.database.path)
  if (file.created) writeLog("info", "generated the encryption key", { file: config.encryptionKey.path })
  if (file.warning) writeLog("warn", file.warning)
  return file.keys
}

/** Creates the application, lets it bootstrap the tenant, and listens. */
export const startDemo = async (config: DemoConfig): Promise<INestApplication> => {
  // Before the key file and the database are touched: a second demo on the same data stops here.
  if (config.database.kind === "sqlite") lockData(config.database.path)
  const encryptionKeys = encryptionKeysOf(config)
  const adapter = await httpAdapter(config)
  const app = await NestFactory.create(AppModule.forConfig(config, encryptionKeys), adapter, {
    logger: new JsonLogger(),
    // Start-up errors are thrown to main.ts, which prints one line and exits 1.
    abortOnError: false
  })
  try {
    installRequestLog(app.getHttpAdapter())
    if (config.adapter === "express") {
      ;(app.getHttpAdapter().getInstance() as { disable(setting: string): void }).disable("x-powered-by")
      const server = app.getHttpServer() as Server
      server.removeAllListeners("clientError")
      server.on("clientError", answerClientError)
    }
    // SIGTERM / SIGINT: stop accepting, finish the requests in flight, close the module (its
    // runtime closes the database and the SMTP pool), then exit 0.
    app.enableShutdownHooks(["SIGTERM", "SIGINT"], { useProcessExit: true })
    await app.listen(config.port, config.host)
  } catch (error) {
    await app.close().catch(() => undefined)
    throw error
  }
  writeLog("info", "listening", {
    url: `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`,
    publicUrl: config.publicUrl,
    adapter: config.adapter,
    database: config.database.path,
    mail: config.mail.kind,
    // What is exported or served: names of signals only, never an endpoint (it may hold credentials).
    telemetry: telemetrySummary(config)
  })
  if (config.mail.kind === "development") {
    const { served, why } = config.devMailbox
    writeLog(
      "warn",
      served
        ? "no SMTP_URL: development mailbox; links are printed here and listed on /dev/mailbox, never use this in production"
        : "no SMTP_URL: development mailbox; links are printed here, /dev/mailbox is not served",
      { devMailbox: served ? "served" : "not served", why, ...(served ? { mailbox: `${config.publicUrl}/dev/mailbox` } : {}) }
    )
  }
  // Nest's shutdown hooks (registered above) close the application on these signals; the log says so.
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => writeLog("info", "stopping", { signal }))
  }
  process.once("exit", (code) => writeLogNow("info", "stopped", { exitCode: code }))
  return app
}
