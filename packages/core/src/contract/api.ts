/**
 * `LagrelloApi`: the one definition of the Lagrello v1 HTTP contract. The server, the client and
 * the OpenAPI document all derive from it.
 *
 * @since 0.0.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as OpenApi from "@effect/platform/OpenApi"
import { AuthGroup } from "./auth.js"
import { CrossDeviceGroup } from "./crossDevice.js"
import { EventsGroup, WebhooksGroup } from "./events.js"
import { ImagesGroup } from "./images.js"
import { transformOpenApi } from "./openapi-transform.js"
import { TenantsGroup } from "./tenants.js"
import { TokensGroup } from "./tokens.js"
import { UsersGroup } from "./users.js"
import { RecoveryGroup } from "./recovery.js"
import { InvalidPayloadWire } from "./wire-errors.js"

/**
 * The Lagrello v1 API. Every endpoint may answer 400 `InvalidPayload` (bad parameters or body).
 *
 * `HttpApi.make` also declares its own `HttpApiDecodeError` at 400, raised when parameters or body
 * do not decode: the server must answer it as `InvalidPayload` (an API-level middleware), and the
 * OpenAPI document leaves it out. Groups `users`, `auth`, `tenants`, `tokens` and, beyond v1,
 * `recovery`, `crossDevice`, `events` and `webhooks` need the bearer token ({@link Authentication}: 403) and may answer
 * 503 `Unavailable`; `images` needs none.
 * @since 0.0.0
 */
export class LagrelloApi extends HttpApi.make("lagrello")
  .add(UsersGroup)
  .add(AuthGroup)
  .add(TenantsGroup)
  .add(TokensGroup)
  .add(ImagesGroup)
  .add(RecoveryGroup)
  .add(CrossDeviceGroup)
  .add(EventsGroup)
  .add(WebhooksGroup)
  .addError(InvalidPayloadWire)
  .annotateContext(OpenApi.annotations({
    title: "Lagrello API",
    version: "1.0.0",
    description: "API specification for Lagrello, a simple to use authentication service",
    license: { name: "Apache-2.0", url: "https://www.apache.org/licenses/LICENSE-2.0.html" },
    transform: transformOpenApi
  }))
{}

/**
 * The OpenAPI document of {@link LagrelloApi} (what `GET /openapi.json` answers).
 * @since 0.0.0
 */
export const openApiDocument = (): OpenApi.OpenAPISpec => OpenApi.fromApi(LagrelloApi)
