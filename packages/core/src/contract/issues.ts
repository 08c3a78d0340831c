/**
 * What a request got wrong, in words a developer can act on (SPEC 1.3): the parameter or property
 * and what was expected, at most 300 characters, and never the request's values (they may be
 * secrets: a link token sent twice as `payload` must not come back in the answer).
 *
 * Effect's own formatters quote the values they received (`Expected string, actual [...]`), and
 * a deep value made them overflow the stack (a 5,000-deep JSON array answered 500). This one
 * walks the issue tree with a loop, describes only the schema, and uses a message only where the
 * contract wrote it (the `message` annotations and filter messages of the domain schemas, which
 * name the rule and never the value).
 *
 * @since 0.0.0
 */
import type * as ParseResult from "effect/ParseResult"
import * as Option from "effect/Option"
import * as SchemaAST from "effect/SchemaAST"

/** The longest message of an InvalidPayload answer (SPEC 1.3). */
export const maxMessageLength = 300

/** How many problems one message lists. */
const maxIssues = 5

/** What a schema expects, in words, from the schema alone (never from the value). */
const expected = (ast: SchemaAST.AST): string => {
  switch (ast._tag) {
    case "StringKeyword":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "true or false"
    case "TypeLiteral":
      return "an object"
    case "TupleType":
      return "an array"
    case "Literal":
      return JSON.stringify(ast.literal)
    case "Union":
      if (ast.types.every((member) => member._tag === "Literal")) {
        return `one of ${ast.types.map((member) => JSON.stringify((member as SchemaAST.Literal).literal)).join(", ")}`
      }
      break
    case "Refinement":
      return Option.getOrElse(SchemaAST.getDescriptionAnnotation(ast), () => expected(ast.from))
    case "Transformation":
      return expected(ast.to)
  }
  const annotated = SchemaAST.getIdentifierAnnotation(ast).pipe(
    Option.orElse(() => SchemaAST.getTitleAnnotation(ast)),
    Option.orElse(() => SchemaAST.getDescriptionAnnotation(ast))
  )
  const text = Option.isSome(annotated) ? annotated.value : String(ast)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** The contract's own message for an issue at `ast`, if it wrote one. */
const annotatedMessage = (ast: SchemaAST.AST, issue: ParseResult.ParseIssue): string | undefined => {
  const annotation = SchemaAST.getMessageAnnotation(ast)
  if (Option.isNone(annotation)) return undefined
  const out = annotation.value(issue)
  if (typeof out === "string") return out
  // An Effect message would need running; a `{ message }` one may be an Effect too.
  return typeof out === "object" && out !== null && "message" in out && typeof out.message === "string"
    ? out.message
    : undefined
}

const pathText = (path: ReadonlyArray<PropertyKey>): string => path.map((key) => String(key)).join(".")

/**
 * The problems of a failed decoding, each `path: what was wrong`, in the order found; at most
 * five.
 * @since 0.0.0
 */
export const describeIssues = (root: ParseResult.ParseIssue): ReadonlyArray<string> => {
  const found: Array<string> = []
  const stack: Array<{ readonly issue: ParseResult.ParseIssue; readonly path: ReadonlyArray<PropertyKey> }> = [
    { issue: root, path: [] }
  ]
  const report = (path: ReadonlyArray<PropertyKey>, problem: string) => {
    found.push(path.length > 0 ? `${pathText(path)}: ${problem}` : problem)
  }
  while (stack.length > 0 && found.length < maxIssues) {
    const { issue, path } = stack.pop()!
    switch (issue._tag) {
      case "Pointer": {
        const more = Array.isArray(issue.path) ? issue.path : [issue.path]
        stack.push({ issue: issue.issue, path: [...path, ...more] })
        break
      }
      case "Composite": {
        const issues = Array.isArray(issue.issues) ? issue.issues : [issue.issues]
        const own = annotatedMessage(issue.ast, issue)
        if (own !== undefined) report(path, own)
        // A value that is none of a union's members: what the union expects, in one line.
        else if (issue.ast._tag === "Union") report(path, `expected ${expected(issue.ast)}`)
        // Pushed in reverse, so that they come out in order.
        else for (let i = issues.length - 1; i >= 0; i--) stack.push({ issue: issues[i]!, path })
        break
      }
      case "Refinement": {
        // A value that is not even of the refined type is described by that type, not the rule.
        if (issue.kind === "From") {
          stack.push({ issue: issue.issue, path })
          break
        }
        const own = annotatedMessage(issue.ast, issue)
        if (own !== undefined) report(path, own)
        // A filter's own message is the string the contract's predicate returned.
        else if (issue.issue._tag === "Type" && issue.issue.message !== undefined) report(path, issue.issue.message)
        else report(path, `must be ${expected(issue.ast)}`)
        break
      }
      case "Transformation": {
        const own = annotatedMessage(issue.ast, issue)
        if (own !== undefined) report(path, own)
        // A transformation's own failure text may quote the value ("Unable to decode "x" into a number").
        else if (issue.kind === "Transformation") report(path, `must be ${expected(issue.ast.to)}`)
        else stack.push({ issue: issue.issue, path })
        break
      }
      case "Type": {
        report(path, annotatedMessage(issue.ast, issue) ?? `expected ${expected(issue.ast)}`)
        break
      }
      case "Missing": {
        report(path, "is required")
        break
      }
      case "Unexpected": {
        report(path, "is not allowed")
        break
      }
      case "Forbidden": {
        report(path, "cannot be decoded")
        break
      }
    }
  }
  return found
}

/**
 * The message of an InvalidPayload answer for a failed decoding of `what` (`"path"`, `"query"`,
 * `"body"`): `Invalid body: userId: userId must not be empty; ...`, at most 300 characters.
 * @since 0.0.0
 */
export const invalidMessage = (what: string, error: ParseResult.ParseError): string =>
  truncate(`Invalid ${what}: ${describeIssues(error.issue).join("; ")}`)

/**
 * A message cut to {@link maxMessageLength} characters.
 * @since 0.0.0
 */
export const truncate = (message: string): string =>
  message.length <= maxMessageLength ? message : `${message.slice(0, maxMessageLength - 3)}...`
