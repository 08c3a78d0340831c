/**
 * Writing answers (stdout, waiting while the pipe is full) and progress (stderr).
 *
 * @since 0.0.0
 */
import * as Effect from "effect/Effect"

/** Writes to stdout, waiting for the pipe to drain when it is full (a large export to `head`). */
export const out = (text: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (process.stdout.write(text)) resume(Effect.void)
    else process.stdout.once("drain", () => resume(Effect.void))
  })

export const line = (text: string) => out(`${text}\n`)

/** A line on stderr: progress and notes, never a secret. */
export const note = (text: string): Effect.Effect<void> => Effect.sync(() => void process.stderr.write(`${text}\n`))

/** One JSON document on stdout. */
export const json = (value: unknown) => line(JSON.stringify(value, null, 2))

/** Rows as aligned columns under a header; "(none)" when there are none. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  if (rows.length === 0) return line("(none)")
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const format = (r: ReadonlyArray<string>) =>
    r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd()
  return line([format(header), ...rows.map(format)].join("\n"))
}

export const iso = (millis: number) => new Date(millis).toISOString()
