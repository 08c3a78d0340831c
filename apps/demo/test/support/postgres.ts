/**
 * PostgreSQL for the demo's tests: the project's rules (a database of its own per test file; the
 * tests fail in CI and are skipped elsewhere when the server cannot be reached) are written once
 * in the core's test support, and reused from there.
 */
export { adminUrl, createDatabase, describePostgres, inCi } from "../../../../packages/core/test/support/postgres.js"
export type { CreatedDatabase, TestDatabase } from "../../../../packages/core/test/support/postgres.js"
