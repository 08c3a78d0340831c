/**
 * The exception filter of the v1 routes, and of an application's own routes that want the same
 * answers (`@UseFilters(LagrelloExceptionFilter)`): every typed error of the core becomes its
 * status with a `{errorType, message}` body (and `Retry-After` for TooManyRequests); Nest's own
 * HTTP exceptions keep their status in the same shape when v1 has it (400 otherwise); anything
 * else is a 500 with a generic message, logged with its cause (never with the request, which may
 * hold secrets).
 *
 * On the v1 routes it sees only what is thrown before the route's own program runs (a host
 * application's guard, for instance): the program answers its own errors.
 *
 * @since 0.0.0
 */
import { errorAnswer, errorTypeOfStatus, internalErrorBody, isLagrelloError, statusOfErrorType } from "@lagrello/core"
import type { ArgumentsHost, ExceptionFilter } from "@nestjs/common"
import { Catch, HttpException, Logger } from "@nestjs/common"
import { HttpAdapterHost } from "@nestjs/core"
import * as Cause from "effect/Cause"
import { LagrelloDefect } from "./errors.js"

const v1Statuses = new Set(Object.values(statusOfErrorType))

/** @since 0.0.0 */
@Catch()
export class LagrelloExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger("Lagrello")

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const adapter = this.adapterHost.httpAdapter
    const response: unknown = host.switchToHttp().getResponse()
    if (isLagrelloError(exception)) {
      const answer = errorAnswer(exception)
      for (const [name, value] of Object.entries(answer.headers)) adapter.setHeader(response, name, value)
      adapter.reply(response, { errorType: exception._tag, message: exception.message }, answer.status)
      return
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus()
      const errorType = errorTypeOfStatus(status) ?? (status >= 500 ? internalErrorBody.errorType : "InvalidPayload")
      const message = status === 404 ? "No such endpoint" : exception.message
      // A status of the v1 API (e.g. your own UnauthorizedException) keeps it; the others that v1
      // clients do not know (405, 413, 415, ...) are bad requests.
      adapter.reply(response, { errorType, message }, status >= 500 || v1Statuses.has(status) ? status : 400)
      return
    }
    if (exception instanceof LagrelloDefect) {
      this.logger.error(`Defect while answering a request:\n${Cause.pretty(exception.cause)}`)
    } else {
      this.logger.error("Unexpected error while answering a request", exception instanceof Error ? exception.stack : String(exception))
    }
    adapter.reply(response, internalErrorBody, 500)
  }
}
