/**
 * `@lagrello/client`: the typed HTTP client for a Lagrello v1 server.
 *
 * - `createLagrelloClient(options)`: methods returning Promises, errors as `Error` subclasses
 *   (`LagrelloError` for the server's error answers, `LagrelloTransportError` for the rest).
 * - `LagrelloClient`: the same client as an Effect service (`layerLagrelloClient(config)` on your
 *   `HttpClient`, `layerLagrelloClientFetch(config)` on `fetch`), failing with the core's typed
 *   errors so that `Effect.catchTag` works.
 *
 * It imports only `@lagrello/core/contract`, `effect` and `@effect/platform`: it runs on
 * Node >= 20.19 and in browsers.
 *
 * @since 0.0.0
 */
export {
  isLagrelloError,
  isLagrelloTransportError,
  LagrelloError,
  LagrelloTransportError,
  statusOfErrorType
} from "./errors.js"
export type { LagrelloApiError, LagrelloErrorType, TransportErrorReason } from "./errors.js"
export {
  defaults,
  isRetryable,
  LagrelloClient,
  layer as layerLagrelloClient,
  layerFetch as layerLagrelloClientFetch,
  make as makeLagrelloClient,
  parseRetryAfter
} from "./LagrelloClient.js"
export type {
  CallError,
  CommonError,
  EventListOptions,
  LagrelloApiClient,
  LagrelloClientConfig,
  LagrelloClientService,
  Normalized,
  RetryOptions
} from "./LagrelloClient.js"
export { createLagrelloClient } from "./promise.js"
export type { CallOptions, LagrelloClientOptions, LagrelloPromiseClient } from "./promise.js"

// The typed errors and models of the contract, so that users need not import the core.
export {
  Conflict,
  Forbidden,
  InvalidPayload,
  NotFound,
  TooManyRequests,
  Unauthorized,
  Unavailable
} from "@lagrello/core/contract"
export type {
  CreateTokenRequest,
  CreateUserRequest,
  Handoff,
  HandoffChoices,
  HandoffState,
  HandoffStatus,
  Permission,
  RecoveryCodes,
  RecoveryCodesStatus,
  Tenant,
  TenantCompanyInfo,
  Token,
  TokenList,
  TokenListParams,
  TotpEnableResponse,
  TotpImageParams,
  UpdateTenantRequest,
  UpdateUserRequest,
  User
} from "@lagrello/core/contract"
