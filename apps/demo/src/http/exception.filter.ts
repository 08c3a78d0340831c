/**
 * The global exception filter: the demo's own routes (and requests that match no route) answer
 * errors in the same `{errorType, message}` shape as the v1 API. The v1 controllers keep the
 * module's filter, which takes precedence over this one.
 */
import type { ArgumentsHost, ExceptionFilter } from "@nestjs/common"
import { Catch, HttpException } from "@nestjs/common"
import { HttpAdapterHost } from "@nestjs/core"
import { errorTypeOfStatus, internalErrorBody } from "@lagrello/core"
import { writeLog } from "../logger.js"

@Catch()
export class DemoExceptionFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const adapter = this.adapterHost.httpAdapter
    const response: unknown = host.switchToHttp().getResponse()
    if (exception instanceof HttpException) {
      const status = exception.getStatus()
      if (status === 404) {
        adapter.reply(response, { errorType: "NotFound", message: "No such page" }, 404)
        return
      }
      if (status < 500) {
        // Answer every other client error as a 400, as the v1 routes do.
        const errorType = errorTypeOfStatus(status)
        adapter.reply(response, { errorType: errorType ?? "InvalidPayload", message: exception.message }, errorType ? status : 400)
        return
      }
    }
    writeLog("error", "Unexpected error while answering a request", {
      error: exception instanceof Error ? exception.name : typeof exception,
      stack: exception instanceof Error ? exception.stack : undefined
    })
    adapter.reply(response, internalErrorBody, 500)
  }
}
