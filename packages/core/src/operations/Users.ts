/**
 * Users of a tenant: create, get, update, delete.
 *
 * @since 0.0.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Conflict, NotFound, Unavailable } from "../domain/errors.js"
import type { CreateUserRequest, UpdateUserRequest, User } from "../domain/models.js"
import type { UserRecord } from "../storage/Storage.js"
import { Storage } from "../storage/Storage.js"
import { event, stamp } from "./Events.js"
import { operationSpan } from "../telemetry/Telemetry.js"

/** The wire form of a stored user: no `email` key when it has none. @since 0.0.0 */
export const toUser = (record: UserRecord): User =>
  record.email === undefined ? { userId: record.userId } : { userId: record.userId, email: record.email }

/** @since 0.0.0 */
export const userNotFound = (userId: string) =>
  new NotFound({ message: `User ${JSON.stringify(userId)} does not exist in this tenant` })

/**
 * After a send found the user changed: NotFound when it is gone, else Unavailable (the address
 * changed meanwhile; sending again uses the new one).
 * @since 0.0.0
 */
export const userNotFoundOrChanged = (tenantId: string, userId: string) =>
  Effect.flatMap(find(tenantId, userId), () =>
    Effect.fail(new Unavailable({ message: "The user's e-mail address changed during the send; send again" }))
  )

/**
 * Finds a user or fails with NotFound.
 * @since 0.0.0
 */
export const find = (tenantId: string, userId: string) =>
  Effect.flatMap(Storage, (storage) => storage.getUser(tenantId, userId)).pipe(
    Effect.flatMap(Option.match({ onNone: () => Effect.fail(userNotFound(userId)), onSome: Effect.succeed }))
  )

/** @since 0.0.0 */
export const create = (tenantId: string, request: CreateUserRequest) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const record: UserRecord = { userId: request.userId, email: request.email }
    const s = yield* stamp(tenantId, yield* Clock.currentTimeMillis)
    const created = yield* storage.insertUser(tenantId, record, s.occurredAt, (ok) =>
      ok ? [event(s, "user.created", request.userId, { hasEmail: request.email !== undefined })] : [])
    if (!created) {
      return yield* new Conflict({ message: `User ${JSON.stringify(request.userId)} already exists` })
    }
    return toUser(record)
  }).pipe(operationSpan("Lagrello.Users.create", tenantId, request.userId))

/** @since 0.0.0 */
export const get = (tenantId: string, userId: string) =>
  Effect.map(find(tenantId, userId), toUser).pipe(operationSpan("Lagrello.Users.get", tenantId, userId))

/**
 * Sets the properties present in the request; a new e-mail address revokes unused links sent to
 * the old one.
 * @since 0.0.0
 */
export const update = (tenantId: string, userId: string, request: UpdateUserRequest) =>
  Effect.gen(function* () {
    if (request.email === undefined) return yield* get(tenantId, userId)
    const storage = yield* Storage
    const s = yield* stamp(tenantId)
    const updated = yield* storage.updateUserEmail(tenantId, userId, request.email, (found) =>
      Option.isSome(found) ? [event(s, "user.updated", userId, { email: "set" })] : [])
    return yield* Option.match(updated, {
      onNone: () => Effect.fail(userNotFound(userId)),
      onSome: (record) => Effect.succeed(toUser(record))
    })
  }).pipe(operationSpan("Lagrello.Users.update", tenantId, userId))

/**
 * Deletes the user and erases its e-mail, links, TOTP secret and queued messages, in one
 * transaction (a TOTP enrolment racing it either is deleted with it or finds no user).
 * @since 0.0.0
 */
export const remove = (tenantId: string, userId: string) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const s = yield* stamp(tenantId)
    const deleted = yield* storage.deleteUser(tenantId, userId, s.occurredAt, (ok) =>
      ok ? [event(s, "user.deleted", userId)] : [])
    if (!deleted) return yield* userNotFound(userId)
  }).pipe(operationSpan("Lagrello.Users.remove", tenantId, userId))
