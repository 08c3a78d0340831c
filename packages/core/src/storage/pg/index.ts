/**
 * `@lagrello/core/pg`: the PostgreSQL storage layer, for several replicas sharing one database.
 * @since 0.0.0
 */
export { layerPg, makePgStorage, migrate } from "./PgStorage.js"
export type { PgStorageOptions } from "./PgStorage.js"
export { migrationLockKey, migrations } from "./migrations.js"
export type { Migration } from "./migrations.js"
