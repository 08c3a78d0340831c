/**
 * Moving a tenant's users between databases (SPEC 7.2, `lagrello users export|import`): JSON
 * lines, one user a line, with its TOTP state. The TOTP secrets stay sealed in the file (under
 * the exporting keyring); the import opens each with its keyring (which must hold that key) and
 * seals it again under its active key, bound to the user in the importing tenant. Recovery codes,
 * links, sessions and queued messages are not moved: users make new recovery codes.
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { Unavailable } from "../domain/errors.js"
import { Email, UserId } from "../domain/models.js"
import { Sealer } from "../crypto/Sealer.js"
import type { ExportedUser } from "../storage/Storage.js"
import { Storage } from "../storage/Storage.js"
import { secretContext } from "./Totp.js"

const Millis = Schema.Number.pipe(Schema.int(), Schema.nonNegative())
const Sealed = Schema.String.pipe(Schema.maxLength(4096))

/**
 * One line of an export.
 * @since 0.0.0
 */
export const ExportLine = Schema.Struct({
  /** The format's version. */
  lagrelloUser: Schema.Literal(1),
  /** The exporting tenant's id: the sealed secrets are bound to it. */
  tenantId: Schema.String.pipe(Schema.maxLength(128)),
  userId: UserId,
  email: Schema.optionalWith(Email, { exact: true }),
  createdAt: Millis,
  totp: Schema.optionalWith(
    Schema.Struct({
      confirmedSecret: Schema.optionalWith(Sealed, { exact: true }),
      pendingSecret: Schema.optionalWith(Sealed, { exact: true }),
      pendingSince: Schema.optionalWith(Millis, { exact: true }),
      lastStep: Schema.optionalWith(Millis, { exact: true })
    }),
    { exact: true }
  )
})

/** @since 0.0.0 */
export type ExportLine = typeof ExportLine.Type

const toLine = (tenantId: string, user: ExportedUser): ExportLine => ({
  lagrelloUser: 1,
  tenantId,
  userId: user.userId,
  ...(user.email === undefined ? {} : { email: user.email }),
  createdAt: user.createdAt,
  ...(user.totp === undefined
    ? {}
    : {
      totp: {
        ...(user.totp.confirmedSecret === undefined ? {} : { confirmedSecret: user.totp.confirmedSecret }),
        ...(user.totp.pendingSecret === undefined ? {} : { pendingSecret: user.totp.pendingSecret }),
        ...(user.totp.pendingSince === undefined ? {} : { pendingSince: user.totp.pendingSince }),
        ...(user.totp.lastStep === undefined ? {} : { lastStep: user.totp.lastStep })
      }
    })
})

/**
 * Writes every user of a tenant, by user id, in batches: `write` gets each batch's lines (JSON
 * text without the newline). Answers how many were written.
 * @since 0.0.0
 */
export const exportUsers = <E, R>(
  tenantId: string,
  write: (lines: ReadonlyArray<string>, done: number) => Effect.Effect<void, E, R>,
  options: { readonly batchSize?: number | undefined } = {}
): Effect.Effect<number, Unavailable | E, Storage | R> =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? 500))
    let after: string | undefined
    let done = 0
    for (;;) {
      const users = yield* storage.exportUsers(tenantId, after, batchSize)
      if (users.length === 0) return done
      after = users[users.length - 1]!.userId
      done += users.length
      yield* write(users.map((user) => JSON.stringify(toLine(tenantId, user))), done)
    }
  }).pipe(Effect.withSpan("Lagrello.UserTransfer.export"))

/**
 * Why a line was not imported; the message names the line and the field, never its value.
 * @since 0.0.0
 */
export interface ImportProblem {
  readonly line: number
  readonly message: string
}

/** @since 0.0.0 */
export type ImportOutcome = "imported" | "exists" | ImportProblem

const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(ExportLine))

/**
 * Imports one line of an export into a tenant: `exists` (nothing written) when the user is there
 * already; a problem when the line is not a user of the format or its secrets do not open with
 * this keyring.
 * @since 0.0.0
 */
export const importLine = (
  tenantId: string,
  text: string,
  line: number
): Effect.Effect<ImportOutcome, Unavailable, Storage | Sealer> =>
  Effect.gen(function*() {
    const decoded = decodeLine(text)
    if (Either.isLeft(decoded)) {
      // The parse error quotes the input: only the path of the first issue is named.
      const path = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]?.path ?? []
      const field = path.length === 0 ? "" : ` (field ${path.map(String).join(".")})`
      return { line, message: `line ${line} is not a user of a Lagrello export${field}` }
    }
    const user = decoded.right
    const storage = yield* Storage
    const sealer = yield* Sealer
    const reseal = (sealed: string | undefined) =>
      sealed === undefined
        ? Effect.succeed(undefined)
        : Effect.flatMap(
          sealer.open(sealed, secretContext(user.tenantId, user.userId)),
          (plain) => sealer.seal(plain, secretContext(tenantId, user.userId))
        )
    const totp = user.totp === undefined
      ? Either.right(undefined)
      : yield* Effect.either(
        Effect.all({ confirmedSecret: reseal(user.totp.confirmedSecret), pendingSecret: reseal(user.totp.pendingSecret) })
      )
    if (Either.isLeft(totp)) {
      return {
        line,
        message: `line ${line}: the TOTP secret does not open with these keys (${totp.left.reason}); ` +
          "configure the keyring the export was made with"
      }
    }
    const now = yield* Clock.currentTimeMillis
    const inserted = yield* storage.importUser(tenantId, {
      userId: user.userId,
      email: user.email,
      createdAt: user.createdAt > 0 ? user.createdAt : now,
      totp: user.totp === undefined || totp.right === undefined
        ? undefined
        : {
          ...totp.right,
          pendingSince: user.totp.pendingSince,
          lastStep: user.totp.lastStep
        }
    })
    return inserted ? "imported" : "exists"
  })
