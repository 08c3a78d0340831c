/**
 * The derived OpenAPI document against the reference document of the original service
 * (`test/fixtures/lagrello-v1.openapi.yaml`: the original Lagrello v1 service's OpenAPI document,
 * Apache-2.0; its origin is in test/fixtures/README.md).
 *
 * Every difference is listed here on purpose, so the comparison is exact: a new or lost path,
 * status, parameter or property fails the test.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
// `yaml` is already in the workspace (nx and vite depend on it); nothing was installed for this.
import { parse } from "yaml"
import { openApiDocument } from "../../src/contract/index.js"

// ---------------------------------------------------------------------------------------------
// The two documents, read as plain JSON values
// ---------------------------------------------------------------------------------------------

interface Parameter {
  readonly name: string
  readonly in: string
  readonly required?: boolean
}
interface MediaType {
  readonly schema?: { readonly $ref?: string }
}
interface Response {
  readonly content?: Record<string, MediaType>
  readonly headers?: Record<string, unknown>
}
interface Operation {
  readonly operationId: string
  readonly parameters?: ReadonlyArray<Parameter>
  readonly requestBody?: { readonly content: Record<string, MediaType> }
  readonly responses: Record<string, Response>
  readonly security?: ReadonlyArray<Record<string, ReadonlyArray<string>>>
}
interface ObjectSchema {
  readonly properties?: Record<string, unknown>
  readonly required?: ReadonlyArray<string>
}
interface Document {
  readonly info: { readonly title: string; readonly version: string; readonly license?: { readonly name: string } }
  readonly paths: Record<string, Record<string, Operation>>
  readonly components: {
    readonly schemas: Record<string, ObjectSchema>
    readonly securitySchemes: Record<string, { readonly type: string; readonly scheme?: string }>
  }
  readonly security?: ReadonlyArray<Record<string, ReadonlyArray<string>>>
}

const referencePath = fileURLToPath(new URL("../fixtures/lagrello-v1.openapi.yaml", import.meta.url))
const reference = parse(readFileSync(referencePath, "utf8")) as Document
// Through JSON, as `GET /openapi.json` would serve it.
const ours = JSON.parse(JSON.stringify(openApiDocument())) as Document

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const

const operationsOf = (doc: Document): Map<string, Operation> => {
  const out = new Map<string, Operation>()
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of methods) {
      const op = item[method]
      if (op !== undefined) out.set(`${method.toUpperCase()} ${path}`, op)
    }
  }
  return out
}

const refName = (schema: { readonly $ref?: string } | undefined): string | undefined =>
  schema?.$ref?.replace("#/components/schemas/", "")

// ---------------------------------------------------------------------------------------------
// The deliberate differences
// ---------------------------------------------------------------------------------------------

/** Operations of the reference that are not part of a self-hosted service (SPEC 1.1). */
const outOfScope: Record<string, string> = {
  "POST /v1/tenant": "public tenant sign-up: a self-hosted service has its tenants configured, not signed up",
  "DELETE /v1/tenant": "tenant deletion by e-mail confirmation belongs to the hosted offering",
  "POST /v1/tenant/activate": "billing",
  "GET /v1/tenant/cardtoken": "billing (Stripe card token)"
}

/** Components used only by the operations left out. */
const componentsOutOfScope: Record<string, string> = {
  CreateTenantRequest: "body of POST /v1/tenant (out of scope)",
  ActivateTenantRequest: "body of POST /v1/tenant/activate (out of scope)"
}

/**
 * Components only our document has: the domain's named string schemas, referenced from the
 * models' properties (and path parameters) instead of inlined.
 */
const componentsAdded = [
  "UserId",
  "Email",
  "TenantName",
  "TokenName",
  "CallbackUrl",
  // The bodies and answers of the operations beyond v1.
  "CodeRequest",
  "RecoveryCodes",
  "RecoveryCodesStatus",
  "Handoff",
  "HandoffStatus",
  "HandoffLinkRequest",
  "HandoffChoices",
  "ApproveHandoffRequest",
  // SPEC 6: events and webhooks.
  "EventType",
  "EventPage",
  "Event",
  "CreateWebhookRequest",
  "WebhookUrl",
  "WebhookWithSecret",
  "WebhookList",
  "Webhook",
  "WebhookDeliveryList",
  "WebhookDelivery",
  "WebhookAttempt"
]

/**
 * The operations beyond v1 (SPEC 5), which the reference does not have: their operation ids and
 * every status they answer. Each needs the bearer token (403) and may find the database down
 * (503), and any parameter or body may be refused (400).
 */
const beyondV1: Record<string, { readonly operationId: string; readonly statuses: ReadonlyArray<string> }> = {
  "POST /v1/users/{userId}/recovery-codes": { operationId: "users/recoveryCodes/generate", statuses: ["200", "400", "403", "404", "503"] },
  "GET /v1/users/{userId}/recovery-codes": { operationId: "users/recoveryCodes/status", statuses: ["200", "400", "403", "404", "503"] },
  "POST /v1/users/{userId}/recovery-codes/verify": {
    operationId: "users/recoveryCodes/verify",
    statuses: ["200", "400", "401", "403", "404", "429", "503"]
  },
  "POST /v1/users/{userId}/email/verify": { operationId: "users/email/verifyCode", statuses: ["200", "400", "401", "403", "404", "503"] },
  "POST /v1/users/{userId}/email/handoff": { operationId: "users/email/handoff", statuses: ["201", "400", "403", "404", "429", "503"] },
  "GET /v1/handoffs/{handoffId}": { operationId: "handoffs/get", statuses: ["200", "400", "403", "404", "503"] },
  "POST /v1/handoffs/choices": { operationId: "handoffs/choices", statuses: ["200", "400", "401", "403", "503"] },
  "POST /v1/handoffs/approve": { operationId: "handoffs/approve", statuses: ["204", "400", "401", "403", "503"] },
  // SPEC 6 (ADMIN).
  "GET /v1/events": { operationId: "events/list", statuses: ["200", "400", "403", "503"] },
  "POST /v1/webhooks": { operationId: "webhooks/create", statuses: ["201", "400", "403", "503"] },
  "GET /v1/webhooks": { operationId: "webhooks/list", statuses: ["200", "400", "403", "503"] },
  "DELETE /v1/webhooks/{id}": { operationId: "webhooks/delete", statuses: ["204", "400", "403", "404", "503"] },
  "POST /v1/webhooks/{id}/secret": { operationId: "webhooks/rotateSecret", statuses: ["200", "400", "403", "404", "503"] },
  "GET /v1/webhooks/{id}/deliveries": { operationId: "webhooks/deliveries", statuses: ["200", "400", "403", "404", "503"] },
  "POST /v1/webhooks/{id}/deliveries/{deliveryId}/retry": {
    operationId: "webhooks/retryDelivery",
    statuses: ["204", "400", "403", "404", "503"]
  }
}

/**
 * Statuses our document lists that the reference lacks. Every operation can answer 400 when its
 * parameters or body do not decode; every bearer operation 403 (bad access token) and 503
 * (database unreachable); the two throttled operations 429 (SPEC 2.1, 2.4), and the image, limited
 * per client address (SPEC 2.5).
 */
const statusesAdded: Record<string, ReadonlyArray<string>> = {
  "POST /v1/users": ["400", "503"],
  "GET /v1/users/{userId}": ["400", "503"],
  "PATCH /v1/users/{userId}": ["400", "503"],
  "DELETE /v1/users/{userId}": ["400", "503"],
  "GET /v1/users/email": ["400", "503"],
  "POST /v1/users/{userId}/email": ["429", "503"],
  "GET /v1/users/{userId}/totp": ["400", "429", "503"],
  "POST /v1/users/{userId}/totp": ["400", "503"],
  "GET /v1/tenant": ["400", "503"],
  "PATCH /v1/tenant": ["400", "503"],
  "GET /v1/tokens": ["400", "403", "503"],
  "POST /v1/tokens": ["400", "403", "503"],
  "DELETE /v1/tokens/{id}": ["400", "503"],
  "GET /v1/images/totp": ["429"]
}

/** Parameters named differently: the reference's own mistake (SPEC, reference notes). */
const parametersRenamed: Record<string, Record<string, string>> = {
  "DELETE /v1/tokens/{id}": { tokenId: "id" }
}

/**
 * Parameters whose `required` differs: the image cannot be made without all three, so they are
 * required (a request without one is a 400 in both).
 */
const parametersMadeRequired: Record<string, ReadonlyArray<string>> = {
  "GET /v1/images/totp": ["tenantName", "userId", "userSecret"]
}

// ---------------------------------------------------------------------------------------------

const referenceOps = operationsOf(reference)
const ourOps = operationsOf(ours)
const inScope = [...referenceOps.keys()].filter((key) => !(key in outOfScope))

const ourOp = (key: string): Operation => {
  const op = ourOps.get(key)
  if (op === undefined) throw new Error(`missing operation ${key}`)
  return op
}
const referenceOp = (key: string): Operation => {
  const op = referenceOps.get(key)
  if (op === undefined) throw new Error(`missing reference operation ${key}`)
  return op
}

describe("OpenAPI document vs the reference", () => {
  it("reads the reference", () => {
    expect(referenceOps.size).toBe(18)
    for (const key of Object.keys(outOfScope)) expect(referenceOps.has(key), key).toBe(true)
  })

  it("has the info of the reference", () => {
    expect(ours.info.title).toBe("Lagrello API")
    expect(ours.info.version).toBe("1.0.0")
    expect(ours.info.license?.name).toBe("Apache-2.0")
  })

  it("has exactly the in-scope paths and methods", () => {
    expect([...ourOps.keys()].sort()).toEqual([...inScope, ...Object.keys(beyondV1)].sort())
    expect(Object.keys(statusesAdded).sort()).toEqual([...inScope].sort())
  })

  it.each(inScope)("%s: same operationId", (key) => {
    expect(ourOp(key).operationId).toBe(referenceOp(key).operationId)
  })

  it.each(inScope)("%s: the reference's statuses plus the listed additions", (key) => {
    const expected = [...Object.keys(referenceOp(key).responses), ...(statusesAdded[key] ?? [])].sort()
    expect(Object.keys(ourOp(key).responses).sort()).toEqual(expected)
  })

  it.each(inScope)("%s: same parameter names, places and required flags", (key) => {
    const renamed = parametersRenamed[key] ?? {}
    const madeRequired = parametersMadeRequired[key] ?? []
    const expected = (referenceOp(key).parameters ?? []).map((p) => {
      const name = renamed[p.name] ?? p.name
      return { name, in: p.in, required: p.required === true || madeRequired.includes(name) }
    })
    const actual = (ourOp(key).parameters ?? []).map((p) => ({ name: p.name, in: p.in, required: p.required === true }))
    const byName = (a: { readonly name: string }, b: { readonly name: string }) => a.name.localeCompare(b.name)
    expect(actual.sort(byName)).toEqual(expected.sort(byName))
  })

  it.each(inScope)("%s: same request body", (key) => {
    const bodyOf = (op: Operation) =>
      op.requestBody === undefined
        ? undefined
        : Object.fromEntries(Object.entries(op.requestBody.content).map(([type, m]) => [type, refName(m.schema)]))
    expect(bodyOf(ourOp(key))).toEqual(bodyOf(referenceOp(key)))
  })

  it.each(inScope)("%s: each of the reference's answers has the same content type and schema", (key) => {
    const ourResponses = ourOp(key).responses
    for (const [status, response] of Object.entries(referenceOp(key).responses)) {
      const contentOf = (r: Response | undefined) =>
        Object.fromEntries(Object.entries(r?.content ?? {}).map(([type, m]) => [type, refName(m.schema) ?? "inline"]))
      expect(contentOf(ourResponses[status]), `${key} ${status}`).toEqual(contentOf(response))
    }
  })

  it.each(inScope)("%s: added error statuses answer the Error component", (key) => {
    const ourResponses = ourOp(key).responses
    for (const status of statusesAdded[key] ?? []) {
      expect(refName(ourResponses[status]?.content?.["application/json"]?.schema), `${key} ${status}`).toBe("Error")
    }
  })

  it.each(inScope)("%s: same security", (key) => {
    // The reference requires `token` at the top level and opts out with `security: []`; ours
    // states it on every operation.
    const expected = referenceOp(key).security ?? reference.security
    expect(ourOp(key).security).toEqual(expected)
  })

  it("has the reference's bearer scheme named token", () => {
    expect(ours.components.securitySchemes).toEqual({ token: { type: "http", scheme: "bearer" } })
  })

  it("has exactly the reference's in-scope components plus the listed additions", () => {
    const expected = [
      ...Object.keys(reference.components.schemas).filter((name) => !(name in componentsOutOfScope)),
      ...componentsAdded
    ].sort()
    expect(Object.keys(ours.components.schemas).sort()).toEqual(expected)
  })

  const modelComponents = Object.keys(reference.components.schemas).filter((name) => !(name in componentsOutOfScope))

  it.each(modelComponents)("component %s: same property names and required list", (name) => {
    const theirs = reference.components.schemas[name]
    const mine = ours.components.schemas[name]
    expect(Object.keys(mine?.properties ?? {}).sort()).toEqual(Object.keys(theirs?.properties ?? {}).sort())
    expect([...(mine?.required ?? [])].sort()).toEqual([...(theirs?.required ?? [])].sort())
  })

  it("400 answers document the Error component only, and no HttpApiDecodeError is left", () => {
    for (const [key, op] of ourOps) {
      const badRequest = op.responses["400"]
      expect(badRequest?.content, key).toEqual({ "application/json": { schema: { $ref: "#/components/schemas/Error" } } })
    }
    expect(JSON.stringify(ours)).not.toContain("HttpApiDecodeError")
  })

  it("429 answers document the Retry-After header", () => {
    const throttled = [...ourOps].filter(([, op]) => op.responses["429"] !== undefined).map(([key]) => key)
    expect(throttled.sort()).toEqual([
      "GET /v1/images/totp",
      "GET /v1/users/{userId}/totp",
      "POST /v1/users/{userId}/email",
      "POST /v1/users/{userId}/email/handoff",
      "POST /v1/users/{userId}/recovery-codes/verify"
    ])
    for (const key of throttled) {
      expect(Object.keys(ourOp(key).responses["429"]?.headers ?? {})).toEqual(["Retry-After"])
    }
  })

  it("POST /v1/users/{userId}/totp answers 200 TotpEnableResponse or an empty 204", () => {
    const responses = ourOp("POST /v1/users/{userId}/totp").responses
    expect(refName(responses["200"]?.content?.["application/json"]?.schema)).toBe("TotpEnableResponse")
    expect(responses["204"]?.content).toBeUndefined()
  })

  it.each(Object.keys(beyondV1))("beyond v1, %s: its operation id, statuses, bearer token, and the Error component for errors", (key) => {
    const op = ourOp(key)
    expect(op.operationId).toBe(beyondV1[key]!.operationId)
    expect(Object.keys(op.responses).sort()).toEqual([...beyondV1[key]!.statuses].sort())
    expect(op.security).toEqual([{ token: [] }])
    for (const [status, response] of Object.entries(op.responses)) {
      if (Number(status) >= 400) expect(refName(response.content?.["application/json"]?.schema), `${key} ${status}`).toBe("Error")
    }
  })

  it("beyond v1, codes and link tokens travel in bodies: no query parameter but the long poll's wait and the event log's page", () => {
    const queries = Object.keys(beyondV1).flatMap((key) => (ourOp(key).parameters ?? []).filter((p) => p.in === "query").map((p) => `${key} ${p.name}`))
    expect(queries).toEqual([
      "GET /v1/handoffs/{handoffId} wait",
      "GET /v1/events after",
      "GET /v1/events limit",
      "GET /v1/events type"
    ])
  })
})
