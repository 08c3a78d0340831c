/**
 * Decoding of path parameters, query strings and bodies with the contract's schemas; any
 * failure is a 400 `InvalidPayload` that says what was wrong.
 *
 * @since 0.0.0
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { invalidPayload } from "./errors.js"

/** The body the adapter hooks substitute for one that is not JSON (see adapter.ts). */
export class UnreadableBody {
  constructor(readonly reason: string) {}
}

const describe = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  return issues
    .slice(0, 5)
    .map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ")
}

/** Decodes `input` or throws InvalidPayload. */
export const decodeOrThrow = <A, I>(schema: Schema.Schema<A, I>, input: unknown, what: string): A => {
  const result = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })(input)
  if (result._tag === "Right") return result.right
  throw invalidPayload(`Invalid ${what}: ${describe(result.left)}`)
}

const isJson = (contentType: string | undefined) =>
  contentType !== undefined && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType)

/**
 * Decodes a JSON body: it must be sent as `application/json` and parse.
 */
export const decodeBody = <A, I>(
  schema: Schema.Schema<A, I>,
  body: unknown,
  contentType: string | undefined
): A => {
  if (body instanceof UnreadableBody) throw invalidPayload(body.reason)
  if (body === undefined || body === null || body === "") {
    throw invalidPayload("A JSON body is required (Content-Type: application/json)")
  }
  if (!isJson(contentType)) throw invalidPayload("The body must be sent with Content-Type: application/json")
  return decodeOrThrow(schema, body, "body")
}
