/**
 * A lock on the SQLite data: `<database>.lock` beside the database file, holding the pid of the
 * demo that uses it. Two demos on one SQLite file would both run the outbox worker and the purge
 * on it, and each would think it alone keeps the tenant's settings; a second start on the same data
 * is refused with one line naming the process that holds it. A lock left by a process that no
 * longer runs (killed, crashed, the machine restarted) is taken over. Released when the process
 * exits. PostgreSQL needs none: several demos sharing one database is how replicas run.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs"
import { dirname } from "node:path"

export class DataLockError extends Error {
  override readonly name = "DataLockError"
}

/** Whether a process with this pid runs and is a node process (a reused pid is another program's). */
const running = (pid: number): boolean => {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: it exists, under another user.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false
  }
  const cmdline = `/proc/${pid}/cmdline`
  if (!existsSync(cmdline)) return true
  try {
    return /node/.test(readFileSync(cmdline, "utf8"))
  } catch {
    return true
  }
}

const holder = (path: string): number | undefined => {
  try {
    const text = readFileSync(path, "utf8").trim()
    return /^\d+$/.test(text) ? Number(text) : undefined
  } catch {
    return undefined
  }
}

/**
 * Takes the lock of a database file, or throws `DataLockError` when a running process holds it.
 * Answers the lock file's path; the lock is released at exit.
 */
export const lockData = (databasePath: string): string => {
  const path = `${databasePath}.lock`
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number
    try {
      // `wx`: exactly one of several processes starting at once creates it.
      fd = openSync(path, "wx", 0o600)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new DataLockError(`DATABASE_URL: cannot create the lock file ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`)
      }
      const pid = holder(path)
      if (pid !== undefined && pid !== process.pid && running(pid)) {
        throw new DataLockError(
          `DATABASE_URL: the SQLite database ${databasePath} is in use by another demo (pid ${pid}, lock file ${path}); stop it first or use another DATABASE_URL`
        )
      }
      // Stale (its process is gone) or half-written: take it over. A process that read the same
      // stale lock at the same instant loses at `wx` above on the next attempt.
      try {
        unlinkSync(path)
      } catch {
        // Removed by the other starter meanwhile.
      }
      continue
    }
    try {
      writeSync(fd, `${process.pid}\n`)
    } finally {
      closeSync(fd)
    }
    process.once("exit", () => {
      // Only our own lock: never one another process took over.
      if (holder(path) === process.pid) {
        try {
          unlinkSync(path)
        } catch {
          // Already gone.
        }
      }
    })
    return path
  }
  throw new DataLockError(`DATABASE_URL: cannot take the lock file ${path}: another process keeps changing it`)
}
