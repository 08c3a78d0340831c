/**
 * The demo server's configuration (SPEC 4.3): every environment variable is read by
 * `@lagrello/core/env` (the parser the operator CLI uses too), and only there. `loadConfig` is
 * pure: it reads the variables it is given (and the working directory, to resolve relative paths)
 * and answers either the configuration or the first error, which names the variable. It never
 * repeats a secret value in an error.
 */
import * as Env from "@lagrello/core/env"
import * as Either from "effect/Either"

export type { AdapterName, EncryptionKeySource, Mail } from "@lagrello/core/env"
export { defaultCallbackUrl, defaults, isLoopbackAddress, isWildcardAddress, keyFileName, minAccessTokenLength } from "@lagrello/core/env"

export type DemoConfig = Env.Environment

/** A configuration that cannot be used: the variable, and one line saying what is wrong with it. */
export interface ConfigError {
  readonly variable: string
  readonly message: string
}

export type ConfigResult =
  | { readonly ok: true; readonly config: DemoConfig }
  | { readonly ok: false; readonly error: ConfigError }

/**
 * Reads the configuration from environment variables. Relative paths are resolved against `cwd`.
 * Empty variables count as unset.
 */
export const loadConfig = (env: Readonly<Record<string, string | undefined>>, cwd: string = process.cwd()): ConfigResult =>
  Either.match(Env.parse(env, cwd), {
    onLeft: (error) => ({ ok: false, error: { variable: error.variable, message: error.message } }),
    onRight: (config) => ({ ok: true, config })
  })
