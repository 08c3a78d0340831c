/**
 * `@lagrello/cli`: the operator command line of Lagrello, bin `lagrello` (SPEC 7.2). Configured by
 * the same environment variables as the server (read by `@lagrello/core/env`), it works on the
 * database directly through core's operations: `migrate`, `tenant create|list`,
 * `token create|list|revoke`, `keys status|rotate`, `users export|import`, `outbox list|retry`, `events tail`, `webhooks list|redeliver`.
 *
 * {@link run} is what the bin calls: it answers the exit code (0 ok, 1 failure, 2 bad usage).
 *
 * @since 0.0.0
 */
export { lagrello } from "./commands.js"
export { BadUsage, CliFailure } from "./failure.js"
export { run } from "./main.js"
