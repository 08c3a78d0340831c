/**
 * `@lagrello/client`: the typed HTTP client for a Lagrello v1 server.
 * @since 0.0.0
 */
export {}
