/**
 * The `users` group: create, get, update and delete the users of the caller's tenant.
 *
 * @since 0.0.0
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { CreateUserRequest, UpdateUserRequest, User } from "../domain/models.js"
import { operation } from "./openapi-transform.js"
import { UserIdParam } from "./params.js"
import { Authentication, RequiredPermission } from "./security.js"
import { ConflictWire, NotFoundWire, UnavailableWire } from "./wire-errors.js"

/**
 * `POST /v1/users` -> 201 `User`; 409 when the user already exists.
 */
const createUser = HttpApiEndpoint.post("create", "/v1/users")
  .setPayload(CreateUserRequest)
  // Annotating a schema drops its identifier: give it back so the answer stays a `User` reference.
  .addSuccess(User.annotations(HttpApiSchema.annotations({ status: 201, identifier: "User" })))
  .addError(ConflictWire)
  .annotate(RequiredPermission, "WRITE")
  .annotateContext(operation({
    id: "users/create",
    summary: "Creates a user in tenant, tenant is determined from the token",
    responses: { 201: "Successfully created a new user", 409: "Returned when user already exist" }
  }))

/**
 * `GET /v1/users/{userId}` -> 200 `User`.
 */
const getUser = HttpApiEndpoint.get("get")`/v1/users/${UserIdParam}`
  .addSuccess(User)
  .addError(NotFoundWire)
  .annotate(RequiredPermission, "READ")
  .annotateContext(operation({
    id: "users/get",
    summary: "Returns specified user",
    responses: { 200: "Returns user data for specified user", 404: "user could not be found" }
  }))

/**
 * `PATCH /v1/users/{userId}` -> 200 `User`.
 */
const updateUser = HttpApiEndpoint.patch("update")`/v1/users/${UserIdParam}`
  .setPayload(UpdateUserRequest)
  .addSuccess(User)
  .addError(NotFoundWire)
  .annotate(RequiredPermission, "WRITE")
  .annotateContext(operation({
    id: "users/update",
    summary: "Updates specified user",
    responses: { 200: "Successfully updated specified user", 404: "user could not be found" }
  }))

/**
 * `DELETE /v1/users/{userId}` -> 204.
 */
const deleteUser = HttpApiEndpoint.del("delete")`/v1/users/${UserIdParam}`
  .addError(NotFoundWire)
  .annotate(RequiredPermission, "WRITE")
  .annotateContext(operation({
    id: "users/delete",
    summary: "Deletes specified user",
    responses: { 204: "Successfully deleted specified user", 404: "user could not be found" }
  }))

/**
 * The `users` group (bearer token; 403 and 503 on every endpoint).
 * @since 0.0.0
 */
export class UsersGroup extends HttpApiGroup.make("users")
  .add(createUser)
  .add(getUser)
  .add(updateUser)
  .add(deleteUser)
  .addError(UnavailableWire)
  .middleware(Authentication)
  .annotateContext(OpenApi.annotations({ description: "Operations on users" }))
{}
