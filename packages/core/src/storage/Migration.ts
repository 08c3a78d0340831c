/**
 * A versioned schema change of a SQL adapter, applied in order at start (once per database).
 * @since 0.0.0
 */
export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}
