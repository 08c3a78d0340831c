/**
 * Starts the built demo (`node dist/bundle/main.mjs`, what `npm start` runs) as a child process on a free loopback port, and
 * talks to it.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"

export const mainJs = fileURLToPath(new URL("../../dist/bundle/main.mjs", import.meta.url))

/** A port that was free a moment ago: listen on port 0, read it, close. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** The variables of the demo: none of them is inherited from the environment of the tests. */
const demoVariables = /^(PORT|HOST|DATABASE_URL|SMTP_URL|MAIL_FROM|PUBLIC_URL|LAGRELLO_.*|OTEL_.*)$/

const baseEnv = (): Record<string, string> =>
  Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !demoVariables.test(e[0]))
  )

export interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface RunningDemo {
  readonly url: string
  readonly port: number
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exited: Promise<Exited>
  /** Sends the signal and waits for the exit (kills it after `timeoutMillis`). */
  readonly stop: (signal?: NodeJS.Signals, timeoutMillis?: number) => Promise<Exited>
  /** Milliseconds from the spawn to the first 200 of /health. */
  readonly startMillis: number
}

/** Runs the demo to completion (for starts that must fail). */
export const runDemo = (
  env: Record<string, string>,
  options: { cwd?: string; timeoutMillis?: number } = {}
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [mainJs], { cwd: options.cwd, env: { ...baseEnv(), ...env }, stdio: "pipe" })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMillis ?? 15_000)
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      // Let the pipes drain.
      setImmediate(() => resolve({ code, signal, stdout, stderr }))
    })
  })

/** Starts the demo and waits until /health answers 200. */
export const startDemo = async (
  env: Record<string, string>,
  options: { cwd?: string; timeoutMillis?: number } = {}
): Promise<RunningDemo> => {
  const port = env.PORT === undefined ? await freePort() : Number(env.PORT)
  const started = performance.now()
  const child = spawn(process.execPath, [mainJs], {
    cwd: options.cwd,
    env: { ...baseEnv(), PORT: String(port), ...env },
    stdio: "pipe"
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<Exited>((resolve) =>
    child.on("exit", (code, signal) => setImmediate(() => resolve({ code, signal })))
  )
  const url = `http://127.0.0.1:${port}`
  const deadline = started + (options.timeoutMillis ?? 20_000)
  let exit: Exited | undefined
  void exited.then((e) => (exit = e))
  for (;;) {
    if (exit) throw new Error(`The demo exited during start (${exit.code ?? exit.signal}):\n${stdout}\n${stderr}`)
    if (performance.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`The demo did not answer /health in time:\n${stdout}\n${stderr}`)
    }
    const ok = await fetch(`${url}/health`).then(
      (r) => r.status === 200,
      () => false
    )
    if (ok) break
    await new Promise((r) => setTimeout(r, 25))
  }
  const startMillis = performance.now() - started
  const stop = async (signal: NodeJS.Signals = "SIGTERM", timeoutMillis = 10_000) => {
    if (exit) return exit
    child.kill(signal)
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMillis)
    const result = await exited
    clearTimeout(timer)
    return result
  }
  return { url, port, child, stdout: () => stdout, stderr: () => stderr, exited, stop, startMillis }
}

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: unknown
}

/** One HTTP call with an optional bearer token and JSON body. */
export const call = async (
  base: string,
  method: string,
  path: string,
  options: { token?: string | undefined; body?: unknown; raw?: string; contentType?: string; headers?: Record<string, string> } = {}
): Promise<Answer> => {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body))
  if (body !== undefined || options.contentType !== undefined) headers["content-type"] = options.contentType ?? "application/json"
  const response = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body }) })
  const text = await response.text()
  let json: unknown
  try {
    json = text === "" ? undefined : JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json }
}
