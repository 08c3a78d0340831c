/**
 * The finishing touches of the derived OpenAPI document, and per-operation documentation.
 *
 * @since 0.0.0
 */
import * as OpenApi from "@effect/platform/OpenApi"
import type * as Context from "effect/Context"

interface Response extends OpenApi.OpenApiSpecResponse {
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>
}

const errorRef = { $ref: "#/components/schemas/Error" } as const

const refPrefix = "#/components/schemas/"

/** The names of the components a JSON value refers to with `$ref`. */
const collectRefs = (value: unknown, into: Set<string>): void => {
  if (Array.isArray(value)) {
    for (const item of value) collectRefs(item, into)
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === "$ref" && typeof item === "string" && item.startsWith(refPrefix)) {
        into.add(item.slice(refPrefix.length))
      } else {
        collectRefs(item, into)
      }
    }
  }
}

/**
 * Rewrites the document `OpenApi.fromApi` derives from the whole API:
 * - 400 answers document the `Error` component only: `HttpApi.make` always adds its own
 *   `HttpApiDecodeError` at 400, which the server never sends (it answers `InvalidPayload`);
 * - 429 answers document their `Retry-After` header;
 * - the `Error` component gets its own description (not one error's);
 * - components no operation uses any more (`HttpApiDecodeError` and its parts) are removed.
 * @since 0.0.0
 */
export const transformOpenApi = (document: Record<string, unknown>): Record<string, unknown> => {
  const spec = document as unknown as OpenApi.OpenAPISpec
  for (const pathItem of Object.values(spec.paths)) {
    for (const operation of Object.values(pathItem)) {
      const responses = operation.responses as Record<string, Response>
      const badRequest = responses["400"]
      if (badRequest !== undefined) {
        badRequest.description = "The payload of the request is not valid"
        badRequest.content = { "application/json": { schema: errorRef } }
      }
      const tooMany = responses["429"]
      if (tooMany !== undefined) {
        tooMany.headers = {
          "Retry-After": {
            description: "The number of seconds to wait before trying again",
            schema: { type: "integer", minimum: 1 }
          }
        }
      }
    }
  }
  const schemas = spec.components.schemas
  const error = schemas["Error"]
  if (error !== undefined) {
    schemas["Error"] = {
      ...error,
      description: "The body of every error answer: errorType names the error, message says what was wrong"
    }
  }
  // Keep only the components reachable from the operations.
  const reachable = new Set<string>()
  collectRefs(spec.paths, reachable)
  const pending = [...reachable]
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const found = new Set<string>()
    collectRefs(schemas[name], found)
    for (const ref of found) {
      if (!reachable.has(ref)) {
        reachable.add(ref)
        pending.push(ref)
      }
    }
  }
  for (const name of Object.keys(schemas)) {
    if (!reachable.has(name)) delete schemas[name]
  }
  return document
}

/**
 * The OpenAPI annotations of one operation: its operation id (the reference's), summary,
 * description, and the descriptions of some of its responses by status.
 * @since 0.0.0
 */
export const operation = (options: {
  readonly id: string
  readonly summary: string
  readonly description?: string
  readonly responses?: Readonly<Record<number, string>>
}): Context.Context<never> => {
  const descriptions = options.responses ?? {}
  return OpenApi.annotations({
    identifier: options.id,
    summary: options.summary,
    ...(options.description === undefined ? {} : { description: options.description }),
    transform: (op) => {
      const responses = (op as OpenApi.OpenAPISpecOperation).responses
      for (const [status, description] of Object.entries(descriptions)) {
        const response = responses[Number(status)]
        if (response !== undefined) response.description = description
      }
      return op
    }
  })
}
