/**
 * The generated encryption key of a demo without `LAGRELLO_ENCRYPTION_KEY` (SPEC 4.3): created
 * once beside the SQLite database with mode 0600, and read back on later starts
 * (`@lagrello/core/env`, shared with the operator CLI).
 */
import * as Env from "@lagrello/core/env"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

export class KeyFileError extends Error {
  override readonly name = "KeyFileError"
}

export type KeyFile = Env.KeyFile

/**
 * Reads the key file, or creates it (with its folder) when missing. Refuses to create a key when
 * the database already exists: what it sealed under the lost key would no longer open.
 */
export const ensureKeyFile = (path: string, databasePath: string): KeyFile => {
  const result = Effect.runSync(Effect.either(Env.ensureKeyFile(path, databasePath)))
  if (Either.isLeft(result)) throw new KeyFileError(result.left.message)
  return result.right
}
