/**
 * A fresh application in a temporary folder outside the workspace: the packed tarballs plus public
 * packages from the npm registry, installed with the same npm a user has.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Completed, runCommand } from "./run.js"

export interface TemporaryApp {
  readonly dir: string
  /** Runs a command in the app; never rejects (look at `status`, null when it was killed). */
  readonly run: (
    command: string,
    args: ReadonlyArray<string>,
    options?: { readonly env?: Record<string, string>; readonly timeoutMillis?: number }
  ) => Promise<Completed>
  readonly remove: () => void
}

/**
 * The environment without npm's own variables: `npm test` sets `npm_config_*` (the workspace as
 * `local_prefix`, among others), which would make the app's npm install into the workspace.
 */
export const cleanEnv = (): Record<string, string> =>
  Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[1] !== undefined && !/^npm_/i.test(e[0]) && !/^(NODE_OPTIONS|VITEST.*|NX_.*)$/.test(e[0])
    )
  )

/**
 * The environment of the docs' install lines run as written: npm reads its cache first (the
 * workspace's install filled it), without audit, funding or update notices; nothing else about the
 * commands changes.
 */
export const installEnv = (): Record<string, string> => ({
  ...cleanEnv(),
  npm_config_prefer_offline: "true",
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false"
})

export const createApp = (options: {
  readonly fixture: string
  readonly manifest: Record<string, unknown>
}): TemporaryApp => {
  const dir = mkdtempSync(join(tmpdir(), "lagrello-app-"))
  cpSync(options.fixture, dir, { recursive: true })
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(options.manifest, null, 2)}\n`)
  return {
    dir,
    run: (command, args, runOptions) =>
      runCommand(command, args, {
        cwd: dir,
        env: { ...cleanEnv(), ...runOptions?.env },
        ...(runOptions?.timeoutMillis === undefined ? {} : { timeoutMillis: runOptions.timeoutMillis })
      }),
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}

/** `npm install` in the app: from the cache when it can, install scripts only for what is approved. */
export const npmInstall = (app: TemporaryApp) =>
  app.run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], { timeoutMillis: 900_000 })
