/**
 * How a command ends other than with success: exit code 1 (the work failed) or 2 (bad usage),
 * each with one line on stderr that never holds a secret.
 *
 * @since 0.0.0
 */
import * as Schema from "effect/Schema"

/**
 * The command could not do its work (exit code 1).
 * @since 0.0.0
 * @category errors
 */
export class CliFailure extends Schema.TaggedError<CliFailure>()("CliFailure", { message: Schema.String }) {}

/**
 * The command line is not valid (exit code 2).
 * @since 0.0.0
 * @category errors
 */
export class BadUsage extends Schema.TaggedError<BadUsage>()("BadUsage", { message: Schema.String }) {}
