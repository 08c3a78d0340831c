/**
 * The `tokens` group: list, create and revoke the tenant's access tokens (ADMIN).
 *
 * @since 0.0.0
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { CreateTokenRequest, Token, TokenList } from "../domain/models.js"
import { operation } from "./openapi-transform.js"
import { TokenIdParam, TokenListParams } from "./params.js"
import { Authentication, RequiredPermission, SecretAnswer } from "./security.js"
import { NotFoundWire, UnavailableWire } from "./wire-errors.js"

/**
 * `GET /v1/tokens?size&page` -> 200 `TokenList`.
 */
const listTokens = HttpApiEndpoint.get("list", "/v1/tokens")
  .setUrlParams(TokenListParams)
  .addSuccess(TokenList)
  .annotateContext(operation({
    id: "tokens/list",
    summary: "Returns a list of all active tokens in tenant",
    responses: { 200: "Returns a paginated list of tokens" }
  }))

/**
 * `POST /v1/tokens` -> 200 `Token` (its `tokenKey` is the whole bearer token, shown this once).
 */
const createToken = HttpApiEndpoint.post("create", "/v1/tokens")
  .setPayload(CreateTokenRequest)
  .addSuccess(Token)
  .annotate(SecretAnswer, true)
  .annotateContext(operation({
    id: "tokens/create",
    summary: "Creates new token",
    responses: { 200: "Returns the newly created token" }
  }))

/**
 * `DELETE /v1/tokens/{id}` -> 204: revokes the token at once.
 */
const deleteToken = HttpApiEndpoint.del("delete")`/v1/tokens/${TokenIdParam}`
  .addError(NotFoundWire)
  .annotateContext(operation({
    id: "tokens/delete",
    summary: "Deletes specifed access token",
    responses: { 204: "Successfully deleted specified token", 404: "token could not be found" }
  }))

/**
 * The `tokens` group (bearer token; 403 and 503 on every endpoint).
 * @since 0.0.0
 */
export class TokensGroup extends HttpApiGroup.make("tokens")
  .add(listTokens)
  .add(createToken)
  .add(deleteToken)
  .addError(UnavailableWire)
  .middleware(Authentication)
  // Every endpoint of the group: access tokens are managed by ADMIN tokens only.
  .annotate(RequiredPermission, "ADMIN")
  .annotateContext(OpenApi.annotations({ description: "Operations on tokens" }))
{}
