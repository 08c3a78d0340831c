/** Runs a command to completion, asynchronously: a synchronous spawn would block the test worker. */
import { spawn } from "node:child_process"

export interface Completed {
  /** The exit code; null when the command was killed (e.g. past its time limit). */
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Never rejects: look at `status`. The environment is `env` only when given, else this process's. */
export const runCommand = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMillis?: number }
): Promise<Completed> =>
  new Promise<Completed>((resolve) => {
    const timeoutMillis = options.timeoutMillis ?? 600_000
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMillis} ms)`
      child.kill("SIGKILL")
    }, timeoutMillis)
    child.on("error", (error) => (stderr += error.message))
    child.on("close", (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
