/**
 * The demo server: `node dist/bundle/main.mjs` (its build bundles this file), `node dist/main.js`,
 * or `npm start` at the repository root. Configured by
 * environment variables (see README.md). Invalid configuration stops the start with one line
 * naming the variable, and exit code 1.
 */
import { setFlagsFromString } from "node:v8"
import { StartupError } from "@lagrello/core"
import { loadConfig } from "./config.js"

// V8 lets the old generation grow to about four times what is live before collecting it, and
// keeps that memory when the load stops: about 40 MB live here, 430 MB of RSS after the bench.
// Growing by at most 100 % of what is live held RSS after a loaded run at 187-191 MB instead of
// 231-242 MB with no measurable cost (docs/performance.md, "Memory"); tighter settings cost
// throughput and p99. `node --heap-growing-percent=N` on the command line takes precedence.
if (!process.execArgv.some((arg) => /^--heap[-_]growing[-_]percent/.test(arg))) {
  setFlagsFromString("--heap-growing-percent=100")
}

const fail = (line: string): void => {
  process.stderr.write(`${line}\n`)
  process.exitCode = 1
}

/** The variable to change for each reason a Lagrello server cannot start. */
const startupLine = (error: StartupError): string => {
  switch (error.reason) {
    case "AccessTokenRevoked":
      return "LAGRELLO_ACCESS_TOKEN: this token was revoked; configure another one"
    case "AccessTokenOfAnotherTenant":
      return "LAGRELLO_ACCESS_TOKEN: this token already belongs to another tenant than LAGRELLO_TENANT_NAME; use another token or that tenant's name"
    case "EncryptionKeys":
    case "KeyMismatch":
      return `LAGRELLO_ENCRYPTION_KEY: ${error.message}`
    case "Storage":
      return `DATABASE_URL: ${error.message}`
    case "Mail":
      return `SMTP_URL: ${error.message}`
    case "Policies":
    case "Adapter":
      return `The demo could not start: ${error.message}`
  }
}

const describe = (error: unknown): string => {
  if (error instanceof Error && error.name === "KeyFileError") return error.message
  if (error instanceof StartupError) return startupLine(error)
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === "EADDRINUSE") return `PORT: the address is already in use`
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN") return `HOST: cannot listen on this address (${code})`
  if (code === "EACCES") return `PORT: permission denied to listen on this port`
  return `The demo could not start: ${error instanceof Error ? error.message : String(error)}`
}

const result = loadConfig(process.env)
if (!result.ok) {
  fail(`Invalid configuration: ${result.error.message}`)
} else {
  try {
    // Loaded once the configuration is known to be valid: a bad one fails fast.
    const { startDemo } = await import("./server.js")
    await startDemo(result.config)
    const { collectGarbageWhenQuiet } = await import("./memory.js")
    collectGarbageWhenQuiet()
  } catch (error) {
    fail(describe(error))
    // Whatever the failed start left open (timers, sockets) must not keep the process alive.
    process.exit(1)
  }
}
