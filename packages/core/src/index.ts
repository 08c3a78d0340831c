/**
 * `@lagrello/core`: passwordless authentication (magic links, TOTP) as Effect programs.
 *
 * - the domain: wire models, typed errors, permissions, policies;
 * - the HTTP contract (`LagrelloApi`), also importable alone from `@lagrello/core/contract`;
 * - the operations: `Users`, `MagicLink`, `Totp`, `Tokens`, `Tenants`, `Access`, and beyond v1
 *   `RecoveryCodes`, `EmailCode`, `Handoff`, `Events`, `Webhooks` (and the webhook worker);
 * - the services they need, as tags with layers: `Storage` (memory here, SQLite in
 *   `@lagrello/core/sqlite`), `Sealer`, `SecureRandom`, `Policies`, `MailTransport` (development
 *   mailbox here, SMTP in `@lagrello/core/smtp`) and the outbox worker.
 *
 * @since 0.0.0
 */
export * from "./contract/index.js"
export * as Lagrello from "./Lagrello.js"
export { Bootstrap, StartupError } from "./Lagrello.js"
export type { BootstrapConfig, LagrelloConfig, LagrelloServices, MailConfig, StorageConfig } from "./Lagrello.js"
export type { OtlpOptions, TelemetryConfig } from "./telemetry/options.js"
export * as Telemetry from "./telemetry/Telemetry.js"
export { metricsText, prometheusContentType, prometheusText } from "./telemetry/Prometheus.js"
export * from "./server/index.js"
export type { Handler, HandlerRequest, HandlerServices, HandlerTable, LagrelloHandlers } from "./handlers/index.js"
export { handlers } from "./handlers/index.js"
export * from "./domain/index.js"

export * as Access from "./operations/Access.js"
export * as Health from "./operations/Health.js"
export * as Keys from "./operations/Keys.js"
export * as MagicLink from "./operations/MagicLink.js"
export * as Tenants from "./operations/Tenants.js"
export * as Tokens from "./operations/Tokens.js"
export * as Totp from "./operations/Totp.js"
export * as Users from "./operations/Users.js"
export * as RecoveryCodes from "./operations/RecoveryCodes.js"
export * as EmailCode from "./operations/EmailCode.js"
export * as Handoff from "./operations/Handoff.js"
export * as Events from "./operations/Events.js"
export * as Webhooks from "./operations/Webhooks.js"
export { deliverWebhooksDue, layerWebhookWorker, runWebhookWorker, type WebhookReport, type WebhookWorkerOptions } from "./webhooks/WebhookWorker.js"
export { sign as signWebhook, signedHeaders as signedWebhookHeaders } from "./webhooks/signature.js"
export * from "./storage/events.js"
export { layerPurge, purgeExpired } from "./operations/Purge.js"
// operator: key rotation, export/import, outbox listing
export * as KeyRotation from "./operations/KeyRotation.js"
export * as UserTransfer from "./operations/UserTransfer.js"
export * as OutboxAdmin from "./operations/OutboxAdmin.js"

export * from "./crypto/index.js"
export * from "./mail/index.js"
export { layerSecureRandom, layerSecureRandomDeterministic, SecureRandom, type SecureRandomService } from "./crypto/SecureRandom.js"
export { layerMemory, makeMemoryStorage } from "./storage/memory/index.js"
export * from "./storage/Storage.js"
