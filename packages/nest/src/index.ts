/**
 * `@lagrello/nest`: the NestJS module for Lagrello.
 * @since 0.0.0
 */
export {}
