/**
 * The commands of `lagrello` (SPEC 7.2), each a thin shell around core's operations: the
 * arguments are decoded with the contract's schemas, the work is the operation's, and the answer
 * is printed as text or, with `--json`, as JSON.
 *
 * @since 0.0.0
 */
import { createReadStream, openSync, closeSync, writeSync, fsyncSync } from "node:fs"
import { createInterface } from "node:readline"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import {
  CallbackUrl,
  CreateTokenRequest,
  decodeCursor,
  encodeCursor,
  Events,
  EventTypeSchema,
  eventTypes,
  expand,
  invalidMessage,
  KeyRotation,
  OutboxAdmin,
  type OutboxStatus,
  type Principal,
  Storage,
  TenantName,
  Tenants,
  Tokens,
  UserTransfer,
  Webhooks
} from "@lagrello/core"
import * as Effect from "effect/Effect"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { BadUsage, CliFailure } from "./failure.js"
import { iso, json, line, note, out, table } from "./output.js"
import { withServices } from "./runtime.js"

const jsonOption = Options.boolean("json").pipe(Options.withDescription("Print the answer as JSON"))
const tenantOption = Options.text("tenant").pipe(Options.withDescription("The tenant, by name or id"))

const decode = <A, I>(schema: Schema.Schema<A, I>, what: string, value: unknown) =>
  Either.match(Schema.decodeUnknownEither(schema)(value), {
    onLeft: (error) => Effect.fail(new BadUsage({ message: invalidMessage(what, error) })),
    onRight: Effect.succeed
  })

const positive = (name: string, value: number) =>
  Number.isInteger(value) && value >= 1
    ? Effect.succeed(value)
    : Effect.fail(new BadUsage({ message: `--${name} must be a whole number of at least 1` }))

/** The tenant by name, else by id. */
const findTenant = (nameOrId: string) =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const byName = yield* storage.findTenantByName(nameOrId)
    const tenant = Option.isSome(byName) ? byName : yield* storage.getTenant(nameOrId)
    if (Option.isNone(tenant)) {
      return yield* new CliFailure({ message: "No tenant has this name or id (lagrello tenant list shows them)" })
    }
    return tenant.value
  })

/** The operator acts as an ADMIN token of the tenant; tokens it creates say `createdBy: operator`. */
const operator = (tenantId: string): Principal => ({
  tenantId,
  tokenId: "operator",
  tokenName: "operator",
  permissions: expand(["ADMIN"])
})

// ---------------------------------------------------------------------------------------------

const migrate = Command.make("migrate", {}, () =>
  withServices(
    (environment) => line(`The database ${environment.database.path} is migrated to the current schema`),
    { create: true }
  )).pipe(
    Command.withDescription(
      "Create the database if needed and apply its pending migrations (servers do this at start too)"
    )
  )

// ---------------------------------------------------------------------------------------------

const tenantCreate = Command.make(
  "create",
  {
    name: Args.text({ name: "name" }).pipe(Args.withDescription("The tenant's name")),
    callbackUrl: Options.text("callback-url").pipe(
      Options.optional,
      Options.withDescription("The callback URL of its links, with {} where the token goes")
    ),
    json: jsonOption
  },
  (args) =>
    Effect.gen(function*() {
      const name = yield* decode(TenantName, "tenant name", args.name)
      const callbackUrl = Option.isSome(args.callbackUrl)
        ? yield* decode(CallbackUrl, "--callback-url", args.callbackUrl.value)
        : undefined
      return yield* withServices(() =>
        Effect.gen(function*() {
          const done = yield* Tenants.bootstrap({ name, callbackUrl })
          if (!done.created || done.generatedAccessToken === undefined) {
            return yield* new CliFailure({ message: "A tenant of this name exists already (nothing was changed)" })
          }
          const token = Redacted.value(done.generatedAccessToken)
          if (args.json) {
            return yield* json({
              tenantId: done.tenant.tenantId,
              tenantName: done.tenant.tenantName,
              callbackUrl: done.tenant.callbackUrl,
              accessToken: token
            })
          }
          yield* line(`Created the tenant ${done.tenant.tenantId}.`)
          yield* line(`Its ADMIN access token, shown this once:`)
          yield* line(token)
        }).pipe(Effect.catchTag("BootstrapConflict", (error) => new CliFailure({ message: error.message })))
      )
    })
).pipe(Command.withDescription("Create a tenant with an ADMIN access token (printed once on stdout)"))

const tenantList = Command.make("list", { json: jsonOption }, (args) =>
  withServices(() =>
    Effect.gen(function*() {
      const tenants = yield* Effect.flatMap(Storage, (s) => s.listTenants)
      const rows = tenants.map((t) => ({
        tenantId: t.tenantId,
        tenantName: t.name,
        callbackUrl: t.callbackUrl,
        createdAt: iso(t.createdAt)
      }))
      if (args.json) return yield* json(rows)
      yield* table(
        ["TENANT ID", "NAME", "CREATED", "CALLBACK URL"],
        rows.map((r) => [r.tenantId, r.tenantName, r.createdAt, r.callbackUrl])
      )
    })
  )).pipe(Command.withDescription("List the tenants, oldest first"))

const tenant = Command.make("tenant").pipe(
  Command.withDescription("Tenants: create, list"),
  Command.withSubcommands([tenantCreate, tenantList])
)

// ---------------------------------------------------------------------------------------------

const tokenCreate = Command.make(
  "create",
  {
    tenant: tenantOption,
    name: Options.text("name").pipe(Options.withDescription("The token's name")),
    permissions: Options.choice("permission", ["READ", "WRITE", "ADMIN"]).pipe(
      Options.repeated,
      Options.withDescription("A permission it grants (repeat the option for several; default READ)")
    ),
    json: jsonOption
  },
  (args) =>
    Effect.gen(function*() {
      const request = yield* decode(CreateTokenRequest, "token", {
        tokenName: args.name,
        ...(args.permissions.length === 0 ? {} : { permissions: args.permissions })
      })
      return yield* withServices(() =>
        Effect.gen(function*() {
          const tenant = yield* findTenant(args.tenant)
          const created = yield* Tokens.create(operator(tenant.tenantId), request).pipe(
            Effect.catchTag("Forbidden", (error) => new CliFailure({ message: error.message }))
          )
          if (args.json) return yield* json({ tenantId: tenant.tenantId, ...created })
          yield* line(`Created the token "${created.tokenName}" (${created.permissions.join(", ")}), shown this once:`)
          yield* line(created.tokenKey)
        })
      )
    })
).pipe(Command.withDescription("Create an access token of a tenant (printed once on stdout)"))

const tokenList = Command.make("list", { tenant: tenantOption, json: jsonOption }, (args) =>
  withServices(() =>
    Effect.gen(function*() {
      const tenant = yield* findTenant(args.tenant)
      const rows = []
      for (let page = 1;; page++) {
        const answer = yield* Tokens.list(operator(tenant.tenantId), { size: 20, page })
        rows.push(...answer.data.map(({ tokenKey, ...t }) => ({ tokenId: tokenKey, ...t })))
        if (answer.paging.next === "") break
      }
      if (args.json) return yield* json(rows)
      yield* table(
        ["TOKEN ID", "NAME", "PERMISSIONS", "CREATED", "CREATED BY"],
        rows.map((t) => [t.tokenId, t.tokenName, t.permissions.join(","), t.createdAt, t.createdBy])
      )
    })
  )).pipe(Command.withDescription("List a tenant's active access tokens by id (never their secrets)"))

const tokenRevoke = Command.make(
  "revoke",
  { tenant: tenantOption, tokenId: Args.text({ name: "token-id" }).pipe(Args.withDescription("The token's id")) },
  (args) =>
    withServices(() =>
      Effect.gen(function*() {
        const tenant = yield* findTenant(args.tenant)
        yield* Tokens.revoke(operator(tenant.tenantId), args.tokenId).pipe(
          Effect.catchTag("NotFound", (error) => new CliFailure({ message: error.message }))
        )
        yield* line("Revoked: every server refuses the token from now on")
      })
    )
).pipe(Command.withDescription("Revoke an access token by its id, at once on every server"))

const token = Command.make("token").pipe(
  Command.withDescription("Access tokens: create, list, revoke"),
  Command.withSubcommands([tokenCreate, tokenList, tokenRevoke])
)

// ---------------------------------------------------------------------------------------------

const statusJson = (status: KeyRotation.KeyStatus) => ({
  activeKeyId: status.activeKeyId,
  keyCheckKeyId: status.keyCheckKeyId ?? null,
  remaining: status.remaining,
  counts: status.counts,
  recoveryCodeSets: status.recoveryCodeSets
})

const printStatus = (status: KeyRotation.KeyStatus) =>
  Effect.gen(function*() {
    yield* table(
      ["KIND", "KEY ID", "COUNT"],
      status.counts.map((c) => [c.kind, c.keyId === "" ? "(none)" : c.keyId, String(c.count)])
    )
    yield* line(`Active key: ${status.activeKeyId}; key check value under: ${status.keyCheckKeyId ?? "(not written yet)"}`)
    const older = status.recoveryCodeSets.filter((s) => s.keyId !== status.activeKeyId)
    if (older.length > 0) {
      yield* line(
        `Recovery codes (keyed hashes, not re-sealable) under older keys: ${older.map((s) => `${s.keyId}: ${s.users} user(s)`).join(", ")}; ` +
          "they stop working when their key is removed (the users make new ones)"
      )
    }
    yield* line(
      status.remaining === 0 && status.keyCheckKeyId === status.activeKeyId
        ? "Everything is sealed under the active key: the other keys can be removed from LAGRELLO_ENCRYPTION_KEY"
        : `${status.remaining} value(s) under other keys: run lagrello keys rotate`
    )
  })

const keysStatus = Command.make("status", { json: jsonOption }, (args) =>
  withServices(() =>
    Effect.flatMap(KeyRotation.status, (status) => (args.json ? json(statusJson(status)) : printStatus(status)))
  )).pipe(Command.withDescription("Count the sealed values (TOTP secrets, queued messages) under each key id"))

const keysRotate = Command.make(
  "rotate",
  {
    batchSize: Options.integer("batch-size").pipe(
      Options.withDefault(200),
      Options.withDescription("Values per transaction")
    ),
    limit: Options.integer("limit").pipe(
      Options.optional,
      Options.withDescription("Re-seal at most this many values in this run (run again for the rest)")
    ),
    json: jsonOption
  },
  (args) =>
    Effect.gen(function*() {
      const batchSize = yield* positive("batch-size", args.batchSize)
      const limit = Option.isSome(args.limit) ? yield* positive("limit", args.limit.value) : undefined
      return yield* withServices(() =>
        Effect.gen(function*() {
          const result = yield* KeyRotation.rotate({
            batchSize,
            limit,
            onProgress: (p) =>
              note(`${p.kind}: ${p.resealed} re-sealed, ${p.changed} changed meanwhile, ${p.unreadable} unreadable`)
          }).pipe(Effect.catchTag("KeyMismatch", (error) => new CliFailure({ message: error.message })))
          if (args.json) {
            yield* json({
              activeKeyId: result.activeKeyId,
              resealed: result.resealed,
              changed: result.changed,
              unreadable: result.unreadable,
              stopped: result.stopped,
              keyCheckResealed: result.keyCheckResealed,
              status: statusJson(result.status)
            })
          } else {
            yield* line(`Re-sealed ${result.resealed} value(s) under the key ${result.activeKeyId}` +
              (result.changed > 0 ? `; ${result.changed} changed by a server meanwhile (already under it)` : ""))
            yield* printStatus(result.status)
          }
          if (result.unreadable > 0) {
            return yield* new CliFailure({
              message: `${result.unreadable} value(s) do not open with these keys (a key the keyring lacks, or changed data); ` +
                "the old keys must stay until they are dealt with"
            })
          }
        })
      )
    })
).pipe(
  Command.withDescription(
    "Re-seal every sealed value under the active key (the first of LAGRELLO_ENCRYPTION_KEY), in batches; " +
      "safe while servers run, and resumable: run it again after an interruption"
  )
)

const keys = Command.make("keys").pipe(
  Command.withDescription("Encryption keys: status, rotate"),
  Command.withSubcommands([keysStatus, keysRotate])
)

// ---------------------------------------------------------------------------------------------

/** A file only its owner reads: an export holds e-mail addresses and sealed secrets. */
const openOutput = (path: string) =>
  Effect.try({
    try: () => openSync(path, "wx", 0o600),
    catch: (error) =>
      new CliFailure({
        message: `--output: cannot create the file (${(error as NodeJS.ErrnoException).code ?? "error"}; it must not exist yet)`
      })
  })

const usersExport = Command.make(
  "export",
  {
    tenant: tenantOption,
    output: Options.file("output").pipe(
      Options.optional,
      Options.withDescription("Write to this new file (mode 0600) instead of stdout")
    )
  },
  (args) =>
    withServices(() =>
      Effect.gen(function*() {
        const tenant = yield* findTenant(args.tenant)
        const fd = Option.isSome(args.output) ? yield* openOutput(args.output.value) : undefined
        const write = (lines: ReadonlyArray<string>, done: number) =>
          Effect.zipRight(
            fd === undefined ? out(lines.map((l) => `${l}\n`).join("")) : Effect.sync(() => void writeSync(fd, lines.map((l) => `${l}\n`).join(""))),
            note(`exported ${done} user(s)`)
          )
        const total = yield* UserTransfer.exportUsers(tenant.tenantId, write).pipe(
          Effect.ensuring(Effect.sync(() => {
            if (fd !== undefined) {
              fsyncSync(fd)
              closeSync(fd)
            }
          }))
        )
        yield* note(`Exported ${total} user(s) of the tenant ${tenant.tenantId}`)
      })
    )
).pipe(Command.withDescription("Write a tenant's users with their TOTP state as JSON lines (secrets stay sealed)"))

const readLines = (path: string | undefined) =>
  createInterface({ input: path === undefined ? process.stdin : createReadStream(path), crlfDelay: Infinity })

const usersImport = Command.make(
  "import",
  {
    tenant: tenantOption,
    input: Options.file("input", { exists: "yes" }).pipe(
      Options.optional,
      Options.withDescription("Read this file instead of stdin")
    )
  },
  (args) =>
    withServices(() =>
      Effect.gen(function*() {
        const tenant = yield* findTenant(args.tenant)
        const counts = { imported: 0, exists: 0, problems: 0 }
        let number = 0
        const lines = readLines(Option.getOrUndefined(args.input))
        const iterator = lines[Symbol.asyncIterator]()
        for (;;) {
          const next = yield* Effect.tryPromise({
            try: () => iterator.next(),
            catch: () => new CliFailure({ message: "The input cannot be read" })
          })
          if (next.done === true) break
          number++
          if (next.value.trim() === "") continue
          const outcome = yield* UserTransfer.importLine(tenant.tenantId, next.value, number)
          if (outcome === "imported") counts.imported++
          else if (outcome === "exists") counts.exists++
          else {
            counts.problems++
            yield* note(`lagrello: ${outcome.message}`)
          }
          if (number % 500 === 0) yield* note(`read ${number} line(s): ${counts.imported} imported`)
        }
        yield* note(
          `Imported ${counts.imported} user(s) into the tenant ${tenant.tenantId}; ${counts.exists} existed already (left as they are); ` +
            `${counts.problems} line(s) not imported`
        )
        if (counts.problems > 0) {
          return yield* new CliFailure({ message: `${counts.problems} line(s) were not imported (see above)` })
        }
      })
    )
).pipe(Command.withDescription("Add the users of an export (JSON lines) to a tenant; existing users are left as they are"))

const users = Command.make("users").pipe(
  Command.withDescription("Users: export, import"),
  Command.withSubcommands([usersExport, usersImport])
)

// ---------------------------------------------------------------------------------------------

const statuses = ["pending", "sent", "expired", "failed", "superseded"] as const satisfies ReadonlyArray<OutboxStatus>

const outboxList = Command.make(
  "list",
  {
    status: Options.choice("status", statuses).pipe(Options.optional, Options.withDescription("Only messages of this status")),
    limit: Options.integer("limit").pipe(Options.withDefault(50), Options.withDescription("At most this many, newest first")),
    json: jsonOption
  },
  (args) =>
    Effect.gen(function*() {
      const limit = yield* positive("limit", args.limit)
      return yield* withServices(() =>
        Effect.gen(function*() {
          const entries = yield* OutboxAdmin.list({ status: Option.getOrUndefined(args.status), limit })
          if (args.json) return yield* json(entries.map((e) => ({ ...e, lastError: e.lastError ?? null, keyId: e.keyId ?? null })))
          yield* table(
            ["ID", "STATUS", "ATTEMPTS", "CREATED", "EXPIRES", "USER", "LAST ERROR"],
            entries.map((e) => [e.id, e.status, String(e.attempts), iso(e.createdAt), iso(e.expiresAt), e.userId, e.lastError ?? ""])
          )
        })
      )
    })
).pipe(Command.withDescription("List the outbox's messages (never their content)"))

const outboxRetry = Command.make(
  "retry",
  {
    all: Options.boolean("all").pipe(Options.withDescription("Every failed message")),
    ids: Args.text({ name: "message-id" }).pipe(Args.repeated, Args.withDescription("The failed messages to retry"))
  },
  (args) =>
    Effect.gen(function*() {
      if (args.all === (args.ids.length > 0)) {
        return yield* new BadUsage({ message: "outbox retry: give the ids of failed messages, or --all" })
      }
      return yield* withServices(() =>
        Effect.gen(function*() {
          const retried = yield* OutboxAdmin.retry(args.all ? "all" : args.ids)
          yield* line(`${retried.length} message(s) due again: ${retried.join(", ") || "(none)"}`)
          const missed = args.all ? 0 : args.ids.length - retried.length
          if (missed > 0) {
            return yield* new CliFailure({
              message: `${missed} message(s) were not retried: not failed, expired, or superseded by a newer message`
            })
          }
        })
      )
    })
).pipe(Command.withDescription("Make failed messages due again (not expired or superseded ones)"))

const outbox = Command.make("outbox").pipe(
  Command.withDescription("The mail outbox: list, retry"),
  Command.withSubcommands([outboxList, outboxRetry])
)

// ---------------------------------------------------------------------------------------------

/** Answers when the process receives SIGINT or SIGTERM (while waited for: no handler otherwise). */
const stopSignal = Effect.async<void>((resume) => {
  const stop = () => resume(Effect.void)
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  return Effect.sync(() => {
    process.off("SIGINT", stop)
    process.off("SIGTERM", stop)
  })
})

/** Events per read of the log (the pull API's largest page). */
const tailPage = 1000

interface TailEvent {
  readonly occurredAt: string
  readonly type: string
  readonly userId?: string
  readonly actor?: string
}

const eventLine = (e: TailEvent) => `${e.occurredAt}  ${e.type.padEnd(24)}  user=${e.userId ?? "-"}  actor=${e.actor ?? "-"}`

const eventsTail = Command.make(
  "tail",
  {
    tenant: tenantOption,
    types: Options.text("type").pipe(
      Options.repeated,
      Options.withDescription(`Only events of this type (repeat for several): ${eventTypes.join(", ")}`)
    ),
    after: Options.text("after").pipe(
      Options.optional,
      Options.withDescription("Start after this cursor (the one printed on stderr at the end of an earlier run)")
    ),
    follow: Options.boolean("follow").pipe(
      Options.withDescription("Keep reading new events until SIGINT or SIGTERM (then exit 0)")
    ),
    interval: Options.integer("interval").pipe(
      Options.withDefault(1000),
      Options.withDescription("With --follow: milliseconds between reads once the log is read to its end")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("Print each event as the API answers it, one JSON per line"))
  },
  (args) =>
    Effect.gen(function*() {
      for (const type of args.types) {
        if (!Schema.is(EventTypeSchema)(type)) {
          return yield* new BadUsage({
            message: "--type must be an event type such as user.created (lagrello events tail --help lists them)"
          })
        }
      }
      const after = Option.getOrUndefined(args.after)
      if (after !== undefined && decodeCursor(after) === undefined) {
        return yield* new BadUsage({ message: "--after must be a cursor printed by an earlier lagrello events tail" })
      }
      const interval = yield* positive("interval", args.interval)
      return yield* withServices(() =>
        Effect.gen(function*() {
          const tenant = yield* findTenant(args.tenant)
          let cursor = after ?? encodeCursor({ position: "0", id: "" })
          // Reads the log to its end; each page is printed and the cursor moved on at once, so an
          // interruption (a signal) never prints an event twice nor skips one.
          const readToEnd = Effect.gen(function*() {
            for (;;) {
              const page = yield* Events.list(tenant.tenantId, {
                after: cursor,
                limit: tailPage,
                types: args.types.length === 0 ? undefined : args.types
              }).pipe(Effect.catchTag("InvalidPayload", (error) => new BadUsage({ message: error.message })))
              yield* Effect.uninterruptible(
                Effect.gen(function*() {
                  if (page.events.length > 0) {
                    yield* out(
                      page.events.map((e) => `${args.json ? JSON.stringify(e) : eventLine(e)}\n`).join("")
                    )
                  }
                  cursor = page.next
                })
              )
              if (page.events.length < tailPage) return
            }
          })
          const printCursor = Effect.suspend(() =>
            note(`Last cursor: ${cursor} (lagrello events tail --after ${cursor} continues from here)`)
          )
          if (!args.follow) return yield* Effect.zipRight(readToEnd, printCursor)
          const following = Effect.forever(Effect.zipRight(readToEnd, Effect.sleep(Duration.millis(interval))))
          yield* Effect.raceFirst(following, stopSignal).pipe(Effect.ensuring(printCursor))
        })
      )
    })
).pipe(
  Command.withDescription(
    "Print a tenant's events in log order (as GET /v1/events reads them), one line each; --follow keeps reading"
  )
)

const events = Command.make("events").pipe(
  Command.withDescription("The event log: tail"),
  Command.withSubcommands([eventsTail])
)

// ---------------------------------------------------------------------------------------------

/** The tenant's webhook, else a failure naming the command that lists them. */
const findWebhook = (tenantId: string, webhookId: string) =>
  Effect.gen(function*() {
    const storage = yield* Storage
    if (Option.isNone(yield* storage.getWebhook(tenantId, webhookId))) {
      return yield* new CliFailure({ message: "No webhook with this id in this tenant (lagrello webhooks list shows them)" })
    }
  })

const webhooksList = Command.make("list", { tenant: tenantOption, json: jsonOption }, (args) =>
  withServices(() =>
    Effect.gen(function*() {
      const tenant = yield* findTenant(args.tenant)
      const { data } = yield* Webhooks.list(tenant.tenantId)
      if (args.json) return yield* json(data)
      yield* table(
        ["WEBHOOK ID", "ENABLED", "CREATED", "EVENTS", "URL"],
        data.map((w) => [w.id, w.enabled ? "yes" : "no", w.createdAt, w.events.join(","), w.url])
      )
    })
  )).pipe(Command.withDescription("List a tenant's webhooks, oldest first (never their signing secrets)"))

const isoDate = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/

const webhooksRedeliver = Command.make(
  "redeliver",
  {
    tenant: tenantOption,
    webhook: Options.text("webhook").pipe(Options.withDescription("The webhook's id (wh_...)")),
    deliveries: Options.text("delivery").pipe(
      Options.repeated,
      Options.withDescription("A delivery to make due again, by its id (its event's id; repeat for several)")
    ),
    failed: Options.boolean("failed").pipe(Options.withDescription("Every failed delivery of the webhook")),
    since: Options.text("since").pipe(
      Options.optional,
      Options.withDescription("With --failed: only deliveries created at or after this ISO 8601 time")
    )
  },
  (args) =>
    Effect.gen(function*() {
      if (args.failed === (args.deliveries.length > 0)) {
        return yield* new BadUsage({ message: "webhooks redeliver: give --delivery ids, or --failed" })
      }
      let since: number | undefined
      if (Option.isSome(args.since)) {
        if (!args.failed) return yield* new BadUsage({ message: "--since goes with --failed" })
        since = isoDate.test(args.since.value) ? Date.parse(args.since.value) : Number.NaN
        if (Number.isNaN(since)) {
          return yield* new BadUsage({ message: "--since must be an ISO 8601 time such as 2026-01-31T12:00:00Z" })
        }
      }
      return yield* withServices(() =>
        Effect.gen(function*() {
          const tenant = yield* findTenant(args.tenant)
          yield* findWebhook(tenant.tenantId, args.webhook)
          if (args.failed) {
            const count = yield* Webhooks.retryFailed(tenant.tenantId, args.webhook, { since }).pipe(
              Effect.catchTag("NotFound", (error) => new CliFailure({ message: error.message }))
            )
            return yield* line(`${count} failed delivery(ies) due again`)
          }
          let count = 0
          for (const id of new Set(args.deliveries)) {
            const done = yield* Webhooks.retry(tenant.tenantId, args.webhook, id).pipe(
              Effect.as(true),
              Effect.catchTag("NotFound", () => Effect.succeed(false))
            )
            if (done) count++
          }
          yield* line(`${count} delivery(ies) due again`)
          const missed = new Set(args.deliveries).size - count
          if (missed > 0) {
            return yield* new CliFailure({ message: `${missed} delivery id(s) are not deliveries of this webhook` })
          }
        })
      )
    })
).pipe(
  Command.withDescription(
    "Make deliveries of a webhook due now (the servers' webhook workers send them), by id or every failed one; " +
      "a webhook disabled for its failures is enabled again"
  )
)

const webhooks = Command.make("webhooks").pipe(
  Command.withDescription("Webhooks: list, redeliver"),
  Command.withSubcommands([webhooksList, webhooksRedeliver])
)

/**
 * The `lagrello` command with its subcommands.
 * @since 0.0.0
 */
export const lagrello = Command.make("lagrello").pipe(
  Command.withDescription(
    "Operate a Lagrello database directly, configured like the server (DATABASE_URL, LAGRELLO_ENCRYPTION_KEY)"
  ),
  Command.withSubcommands([migrate, tenant, token, keys, users, outbox, events, webhooks])
)
