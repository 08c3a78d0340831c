/**
 * Structured logs: one JSON object per line on standard output (errors on standard error).
 * Used for Nest's own messages and for the request log. Callers never pass secrets here: no
 * token, code, key or Authorization header is ever logged (SPEC 3.4).
 */
import type { LoggerService } from "@nestjs/common"

export type Level = "debug" | "info" | "warn" | "error" | "fatal"

export type LogFields = Record<string, string | number | boolean | undefined>

// Standard output lines are written once per turn of the event loop, not one write(2) per line:
// under load that is one system call for the lines of many requests. Errors go out at once, after
// what is buffered; whatever is left is written when the process exits.
let buffered: Array<string> = []
const flush = () => {
  if (buffered.length === 0) return
  const text = buffered.join("")
  buffered = []
  process.stdout.write(text)
}
process.on("exit", flush)

export const writeLog = (level: Level, msg: string, fields: LogFields = {}): void => {
  const line = `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`
  if (level === "error" || level === "fatal") {
    flush()
    process.stderr.write(line)
  } else if (buffered.push(line) === 1) {
    setImmediate(flush)
  }
}

// Nest's start-up chatter: one line per module and per route.
const quiet = new Set(["InstanceLoader", "RoutesResolver", "RouterExplorer"])

const split = (params: ReadonlyArray<unknown>): { context: string | undefined; rest: ReadonlyArray<unknown> } => {
  const last = params.at(-1)
  return typeof last === "string" && params.length > 0
    ? { context: last, rest: params.slice(0, -1) }
    : { context: undefined, rest: params }
}

const text = (message: unknown): string =>
  typeof message === "string" ? message : message instanceof Error ? message.message : JSON.stringify(message)

/** Nest's logger, writing JSON lines. */
export class JsonLogger implements LoggerService {
  constructor(private readonly debugEnabled = false) {}

  private write(level: Level, message: unknown, params: ReadonlyArray<unknown>) {
    const { context, rest } = split(params)
    if (level === "info" && context !== undefined && quiet.has(context)) return
    const stack = level === "error" || level === "fatal" ? rest.find((p): p is string => typeof p === "string") : undefined
    writeLog(level, text(message), { context, ...(stack ? { stack } : {}) })
  }

  log(message: unknown, ...params: Array<unknown>) {
    this.write("info", message, params)
  }
  error(message: unknown, ...params: Array<unknown>) {
    this.write("error", message, params)
  }
  warn(message: unknown, ...params: Array<unknown>) {
    this.write("warn", message, params)
  }
  fatal(message: unknown, ...params: Array<unknown>) {
    this.write("fatal", message, params)
  }
  debug(message: unknown, ...params: Array<unknown>) {
    if (this.debugEnabled) this.write("debug", message, params)
  }
  verbose(message: unknown, ...params: Array<unknown>) {
    if (this.debugEnabled) this.write("debug", message, params)
  }
}
