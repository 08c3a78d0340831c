/**
 * Runs `lagrello` on an argument vector and answers the exit code: 0 when the command succeeded,
 * 1 when it failed, 2 on bad usage. Every failure is one line on stderr, never a stack trace, and
 * never holds a secret or repeats the arguments' values.
 *
 * @since 0.0.0
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { createRequire } from "node:module"
import { lagrello } from "./commands.js"

const version = (createRequire(import.meta.url)("../package.json") as { version: string }).version

/** Escape sequences of ANSI colours, which the command line's own messages carry. */
// eslint-disable-next-line no-control-regex
const ansi = /\u001b\[[0-9;]*m/g

/** The words of the command line itself (commands, choices), which messages may quote. */
const words = new Set([
  "lagrello", "migrate", "tenant", "token", "keys", "users", "outbox", "create", "list", "revoke", "status", "rotate",
  "export", "import", "retry", "events", "tail", "webhooks", "redeliver", "READ", "WRITE", "ADMIN", "pending", "sent", "expired", "failed", "superseded"
])

/**
 * The first line of what @effect/cli printed about a usage error, without the values given on
 * the command line (an argument may be a secret typed in the wrong place).
 */
const usageLine = (printed: ReadonlyArray<string>, argv: ReadonlyArray<string>): string => {
  const text = printed.join("\n").replace(ansi, "")
  let first = text.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "invalid command line"
  const values = argv.slice(2).flatMap((arg) => (arg.startsWith("-") ? arg.split("=").slice(1) : [arg]))
    .filter((value) => value !== "" && !words.has(value))
    .sort((a, b) => b.length - a.length)
  for (const value of values) first = first.split(value).join("…")
  return first.replace(/\s+/g, " ").slice(0, 300)
}

/** @effect/cli prints usage errors through `Console.error`: they are kept, and printed as one line. */
const capturingConsole = (printed: Array<string>) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Console.consoleWith((current) =>
    Console.withConsole(self, {
      ...current,
      error: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void printed.push(args.map(String).join(" "))),
      unsafe: {
        ...current.unsafe,
        error: (...args: ReadonlyArray<unknown>) => void printed.push(args.map(String).join(" "))
      }
    })
  )

const cli = Command.run(lagrello, { name: "lagrello", version })

const fail = (code: 1 | 2, message: string) =>
  Effect.sync(() => {
    process.stderr.write(`lagrello: ${message}\n`)
    return code
  })

/**
 * Runs the command line (`argv` as `process.argv`: node, the script, then the arguments).
 * @since 0.0.0
 */
export const run = (argv: ReadonlyArray<string>): Promise<number> => {
  const printed: Array<string> = []
  const program = cli(argv).pipe(
    Effect.as(0),
    Effect.provide(Layer.mergeAll(NodeContext.layer, CliConfig.layer({ showBuiltIns: false }))),
    capturingConsole(printed)
  )
  return Effect.runPromiseExit(program).then((exit) =>
    Exit.isSuccess(exit)
      ? exit.value
      : Effect.runSync(
        Cause.failureOption(exit.cause).pipe((failure) => {
          if (failure._tag === "None") {
            // A defect: a bug, or an interruption. Its cause goes nowhere near the terminal's user.
            return Cause.isInterruptedOnly(exit.cause)
              ? fail(1, "interrupted; run the command again to resume")
              : fail(1, "unexpected failure (a bug in lagrello; please report it with the command you ran, without secrets)")
          }
          const error = failure.value
          if (ValidationError.isValidationError(error)) {
            // --help and --version end here too, having printed what was asked.
            if (ValidationError.isHelpRequested(error)) return Effect.succeed(0)
            return fail(2, `${usageLine(printed, argv)} (lagrello --help shows the commands)`)
          }
          switch (error._tag) {
            case "BadUsage":
              return fail(2, error.message)
            case "CliFailure":
            case "Unavailable":
              return fail(1, error.message)
            default:
              return fail(1, "unexpected failure")
          }
        })
      )
  )
}
