/**
 * `@lagrello/core/sqlite`: the SQLite storage layer.
 * @since 0.0.0
 */
export { layerSqlite, makeSqliteStorage, migrate } from "./SqliteStorage.js"
export type { SqliteStorageOptions } from "./SqliteStorage.js"
export { type Migration, migrations } from "./migrations.js"
