/**
 * Structured logs: one JSON object per line on standard output (errors on standard error).
 * Used for Nest's own messages and for the request log. Callers never pass secrets here: no
 * token, code, key or Authorization header is ever logged (SPEC 3.4).
 */
import type { LoggerService } from "@nestjs/common"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Tracer from "effect/Tracer"

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

// The time of a line, as ISO 8601 text made once per millisecond: `new Date().toISOString()` for
// every line was half the cost of a request's log line (1.07 us against 0.57 us measured here).
let isoMillis = 0
let isoText = ""
export const isoNow = (): string => {
  const now = Date.now()
  if (now !== isoMillis) {
    isoMillis = now
    isoText = new Date(now).toISOString()
  }
  return isoText
}

const lineOf = (level: Level, msg: string, fields: LogFields): string =>
  `${JSON.stringify({ time: isoNow(), level, msg, ...fields })}\n`

export const writeLog = (level: Level, msg: string, fields: LogFields = {}): void => writeLine(level, lineOf(level, msg, fields))

/** Writes one finished JSON line (for callers that build their line themselves, the request log). */
export const writeLine = (level: Level, line: string): void => {
  if (level === "error" || level === "fatal") {
    flush()
    process.stderr.write(line)
  } else if (buffered.push(line) === 1) {
    setImmediate(flush)
  }
}

/** Writes a line at once, with what is buffered before it (for the process's `exit` event, after which nothing runs). */
export const writeLogNow = (level: Level, msg: string, fields: LogFields = {}): void => {
  flush()
  process.stdout.write(lineOf(level, msg, fields))
}

// Nest's start-up chatter: one line per module and per route (about 50 on every start), at debug.
const chatter = new Set(["InstanceLoader", "RoutesResolver", "RouterExplorer"])

/**
 * A class name as written in the sources. The bundle (bundle.mjs, esbuild without keepNames, which
 * costs CPU per request) renames a decorated class `HealthController` to `HealthController2`
 * (tsc's `let X = class X` collides once scopes are merged) and some of Nest's own to
 * `_InstanceLoader`: esbuild's suffixes start at 2 after a lower-case letter, no class of the demo,
 * the packages or Nest ends so, and its prefix is underscores.
 */
export const sourceName = (name: string): string => name.replace(/^_+(?=[A-Za-z])/, "").replace(/(?<=[a-z])[2-9]$/, "")

/** The same in a message of Nest's (`HealthController2 {/health}:`, `AppModule2 dependencies initialized`). */
const sourceNames = (text: string): string => text.replace(/\b_*([A-Z][A-Za-z0-9]*[a-z])[2-9]\b/g, "$1")

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
    const split_ = split(params)
    const context = split_.context === undefined ? undefined : sourceName(split_.context)
    if (context !== undefined && chatter.has(context)) {
      if (!this.debugEnabled) return
      level = "debug"
    }
    const stack = level === "error" || level === "fatal" ? split_.rest.find((p): p is string => typeof p === "string") : undefined
    writeLog(level, sourceNames(text(message)), { context, ...(stack ? { stack } : {}) })
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

const levelOf = (level: LogLevel.LogLevel): Level => {
  if (LogLevel.greaterThanEqual(level, LogLevel.Fatal)) return "fatal"
  if (LogLevel.greaterThanEqual(level, LogLevel.Error)) return "error"
  if (LogLevel.greaterThanEqual(level, LogLevel.Warning)) return "warn"
  if (LogLevel.greaterThanEqual(level, LogLevel.Info)) return "info"
  return "debug"
}

const field = (value: unknown): string | number | boolean =>
  typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? value : text(value)

/**
 * Effect's logger for the module's runtime (`LagrelloModule`'s `logger` option): the core's lines
 * (outbox worker, development mailbox, errors) as the same JSON lines as `writeLog`, instead of
 * Effect's logfmt. The first message part is `msg`; further parts (`Effect.logError("...", tag)`)
 * are `detail`, so that `msg` is never written twice; annotations become fields; a failure's cause
 * is `cause` (the core's errors never quote input or secrets). A line written inside a span
 * carries its `traceId` and `spanId` (SPEC 7.1).
 */
export const effectLogger: Logger.Logger<unknown, void> = Logger.make(({ annotations, cause, context, logLevel, message }) => {
  const parts = Array.isArray(message) ? message : [message]
  const fields: LogFields = {}
  const span = Context.getOption(FiberRefs.getOrDefault(context, FiberRef.currentContext), Tracer.ParentSpan)
  if (span._tag === "Some") {
    fields.traceId = span.value.traceId
    fields.spanId = span.value.spanId
  }
  for (const [key, value] of HashMap.toEntries(annotations)) fields[key] = field(value)
  if (parts.length > 1) fields.detail = parts.slice(1).map(text).join(" ")
  if (!Cause.isEmpty(cause)) fields.cause = Cause.pretty(cause)
  writeLog(levelOf(logLevel), text(parts[0] ?? ""), fields)
})
