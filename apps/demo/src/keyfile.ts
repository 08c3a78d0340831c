/**
 * The generated encryption key of a demo without `LAGRELLO_ENCRYPTION_KEY` (SPEC 4.3): created
 * once beside the SQLite database with mode 0600, and read back on later starts.
 */
import { randomBytes } from "node:crypto"
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from "node:fs"
import { dirname } from "node:path"
import { parseKeyring } from "@lagrello/core"
import * as Either from "effect/Either"

export class KeyFileError extends Error {
  override readonly name = "KeyFileError"
}

export interface KeyFile {
  /** The key in the keyring string form `parseKeyring` reads. */
  readonly keys: string
  readonly created: boolean
  /** Set when the file is readable by other users than its owner. */
  readonly warning: string | undefined
}

/**
 * Reads the key file, or creates it (with its folder) when missing. Refuses to create a key when
 * the database already exists: what it sealed under the lost key would no longer open.
 */
export const ensureKeyFile = (path: string, databasePath: string): KeyFile => {
  if (existsSync(path)) return readKeyFile(path)
  if (existsSync(databasePath)) {
    throw new KeyFileError(
      `LAGRELLO_ENCRYPTION_KEY: it is unset and the key file ${path} is missing, but the database ${databasePath} ` +
        "already exists; restore the key file or set LAGRELLO_ENCRYPTION_KEY to the key the database was used with"
    )
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const keys = randomBytes(32).toString("base64")
  let fd: number
  try {
    // `wx`: never overwrite a key another process wrote meanwhile.
    fd = openSync(path, "wx", 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return readKeyFile(path)
    throw new KeyFileError(`LAGRELLO_ENCRYPTION_KEY: it is unset and the key file ${path} cannot be created (${code(error)})`)
  }
  try {
    writeSync(fd, `${keys}\n`)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  return { keys, created: true, warning: undefined }
}

const code = (error: unknown) => (error as NodeJS.ErrnoException).code ?? "unknown error"

const readKeyFile = (path: string): KeyFile => {
  let text: string
  try {
    text = readFileSync(path, "utf8").trim()
  } catch (error) {
    throw new KeyFileError(`LAGRELLO_ENCRYPTION_KEY: it is unset and the key file ${path} cannot be read (${code(error)})`)
  }
  const keyring = parseKeyring(text)
  if (Either.isLeft(keyring)) {
    throw new KeyFileError(`LAGRELLO_ENCRYPTION_KEY: it is unset and the key file ${path} holds no valid key: ${keyring.left.message}`)
  }
  const mode = statSync(path).mode & 0o777
  const warning =
    (mode & 0o077) !== 0
      ? `The key file ${path} can be read by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`
      : undefined
  return { keys: text, created: false, warning }
}
