/**
 * Every endpoint of the contract is served, on both adapters: each endpoint of `LagrelloApi`
 * (enumerated from the contract itself with `HttpApi.reflect`, not from the derived routes)
 * answers its method and path with its success status, and its `RequiredPermission` annotation
 * holds: a token with the permission just below it (or none, for READ) is refused with 403
 * before anything is decoded, a token with exactly it is served. An endpoint added to the
 * contract fails this test until it has an example request here.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import type { Permission } from "@lagrello/core"
import { Authentication, base32Decode, LagrelloApi, RequiredPermission, totpAt } from "@lagrello/core"
import type { INestApplication } from "@nestjs/common"
import * as Context from "effect/Context"
import * as Option from "effect/Option"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { messageCode, readMailbox, Users, Webhooks } from "@lagrello/core"
import * as Effect from "effect/Effect"
import type { LagrelloService } from "../src/index.js"
import { adminToken, type AdapterName, lastToken, options, startApp } from "./support.js"

interface ContractEndpoint {
  readonly key: string
  readonly method: string
  readonly path: string
  readonly permission: Permission | undefined
  readonly successStatuses: ReadonlyArray<number>
}

const contractEndpoints = (): ReadonlyArray<ContractEndpoint> => {
  const found: Array<ContractEndpoint> = []
  HttpApi.reflect(LagrelloApi, {
    onGroup: () => undefined,
    onEndpoint: ({ endpoint, group, mergedAnnotations, middleware, successes }) => {
      found.push({
        key: `${group.identifier}.${endpoint.name}`,
        method: endpoint.method,
        path: endpoint.path,
        permission: middleware.has(Authentication as never)
          ? Option.getOrThrow(Context.getOption(mergedAnnotations, RequiredPermission))
          : undefined,
        successStatuses: [...successes.keys()]
      })
    }
  })
  return found
}

/** What a test request needs: path parameters, query, body; prepared by `setup` for each call. */
interface Example {
  readonly params?: Record<string, string>
  readonly query?: Record<string, string>
  readonly body?: unknown
  /** The status this request answers (one of the endpoint's successes). */
  readonly status: number
}

type Tenant = LagrelloService["tenant"]

let counter = 0
const fresh = (prefix: string) => `${prefix}-${++counter}`

/** Creates a user with TOTP confirmed; answers its id and secret. */
const totpUser = async (tenant: Tenant) => {
  const userId = fresh("totp")
  await tenant.createUser({ userId, email: `${userId}@example.com` })
  const { secretKey } = await tenant.enableTotp(userId)
  return { userId, secret: base32Decode(secretKey)! }
}

/** The code of the newest sign-in mail to `email`. */
const lastCode = (service: LagrelloService, email: string): Promise<string> =>
  service.runtime.runPromise(
    Effect.flatMap(readMailbox(100), (entries) => {
      const code = entries.filter((e) => e.message.to === email).map((e) => messageCode(e.message))[0]
      return code === undefined ? Effect.dieMessage(`no code was sent to ${email}`) : Effect.succeed(code)
    })
  )

/** A user with TOTP confirmed and a set of recovery codes. */
const recoveryUser = async (tenant: Tenant) => {
  const { secret, userId } = await totpUser(tenant)
  await tenant.verifyTotp(userId, totpAt(secret, Date.now()))
  const { codes } = await tenant.generateRecoveryCodes(userId)
  return { userId, codes }
}

/** A handoff waiting for its link: its id, its number, and the link's token. */
const handoff = async (tenant: Tenant, service: LagrelloService) => {
  const userId = fresh("handoff")
  await tenant.createUser({ userId, email: `${userId}@example.com` })
  const { handoffId, matchNumber } = await tenant.startHandoff(userId)
  return { handoffId, matchNumber, token: await lastToken(service, `${userId}@example.com`) }
}

/** A webhook of the tenant (to a loopback receiver that is never called: the worker is off) and one of its deliveries. */
const webhook = async (service: LagrelloService) => {
  const { tenantId } = await service.authenticate(adminToken)
  const created = await service.runtime.runPromise(Webhooks.create(tenantId, { url: "http://127.0.0.1:9/hooks", events: ["*"] }))
  await service.runtime.runPromise(Users.create(tenantId, { userId: fresh("hooked") }))
  const deliveries = await service.runtime.runPromise(Webhooks.deliveries(tenantId, created.id))
  return { id: created.id, deliveryId: deliveries.data[0]!.id }
}

/** What examples prepare their state with. */
interface Fixtures {
  readonly tenant: Tenant
  readonly service: LagrelloService
  /** Creates a READ token through the API; answers its public id. */
  readonly tokenId: () => Promise<string>
}

/** One example per endpoint; each call prepares its own state (the same example runs several times). */
const examples: Record<string, (fixtures: Fixtures) => Promise<ReadonlyArray<Example>>> = {
  "users.create": async () => [{ body: { userId: fresh("create") }, status: 201 }],
  "users.get": async ({ tenant }) => {
    const userId = fresh("get")
    await tenant.createUser({ userId })
    return [{ params: { userId }, status: 200 }]
  },
  "users.update": async ({ tenant }) => {
    const userId = fresh("update")
    await tenant.createUser({ userId })
    return [{ params: { userId }, body: { email: "new@example.com" }, status: 200 }]
  },
  "users.delete": async ({ tenant }) => {
    const userId = fresh("delete")
    await tenant.createUser({ userId })
    return [{ params: { userId }, status: 204 }]
  },
  "auth.verifyMagicLink": async ({ service, tenant }) => {
    const userId = fresh("link")
    await tenant.createUser({ userId, email: `${userId}@example.com` })
    await tenant.sendMagicLink(userId)
    return [{ query: { payload: await lastToken(service, `${userId}@example.com`) }, status: 200 }]
  },
  "auth.sendMagicLink": async ({ tenant }) => {
    const userId = fresh("send")
    await tenant.createUser({ userId, email: `${userId}@example.com` })
    return [{ params: { userId }, status: 204 }]
  },
  "auth.verifyTotp": async ({ tenant }) => {
    const { secret, userId } = await totpUser(tenant)
    return [{ params: { userId }, query: { payload: totpAt(secret, Date.now()) }, status: 200 }]
  },
  "auth.toggleTotp": async ({ tenant }) => {
    const userId = fresh("toggle")
    await tenant.createUser({ userId })
    return [
      { params: { userId }, body: { enable: true }, status: 200 },
      { params: { userId }, body: { enable: false }, status: 204 }
    ]
  },
  "tenants.get": async () => [{ status: 200 }],
  "tenants.update": async () => [{ body: { callbackUrl: "https://app.example.com/login/{}" }, status: 200 }],
  "tokens.list": async () => [{ query: { size: "5", page: "1" }, status: 200 }],
  "tokens.create": async () => [{ body: { tokenName: fresh("token"), permissions: ["READ"] }, status: 200 }],
  "tokens.delete": async ({ tokenId }) => [{ params: { id: await tokenId() }, status: 204 }],
  "images.totp": async () => [
    { query: { tenantName: "Acme", userId: "alice", userSecret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" }, status: 200 }
  ],
  // Beyond v1 (SPEC 5).
  "recovery.generate": async ({ tenant }) => {
    const { secret, userId } = await totpUser(tenant)
    await tenant.verifyTotp(userId, totpAt(secret, Date.now()))
    return [{ params: { userId }, status: 200 }]
  },
  "recovery.status": async ({ tenant }) => [{ params: { userId: (await recoveryUser(tenant)).userId }, status: 200 }],
  "recovery.verify": async ({ tenant }) => {
    const { codes, userId } = await recoveryUser(tenant)
    return [{ params: { userId }, body: { code: codes[0] }, status: 200 }]
  },
  "crossDevice.verifyEmailCode": async ({ service, tenant }) => {
    const userId = fresh("mailcode")
    await tenant.createUser({ userId, email: `${userId}@example.com` })
    await tenant.sendMagicLink(userId)
    return [{ params: { userId }, body: { code: await lastCode(service, `${userId}@example.com`) }, status: 200 }]
  },
  "crossDevice.startHandoff": async ({ tenant }) => {
    const userId = fresh("start")
    await tenant.createUser({ userId, email: `${userId}@example.com` })
    return [{ params: { userId }, status: 201 }]
  },
  "crossDevice.getHandoff": async ({ service, tenant }) => [
    { params: { handoffId: (await handoff(tenant, service)).handoffId }, query: { wait: "0" }, status: 200 }
  ],
  "crossDevice.handoffChoices": async ({ service, tenant }) => [
    { body: { payload: (await handoff(tenant, service)).token }, status: 200 }
  ],
  "crossDevice.approveHandoff": async ({ service, tenant }) => {
    const { matchNumber, token } = await handoff(tenant, service)
    return [{ body: { payload: token, matchNumber }, status: 204 }]
  },
  // Beyond v1 (SPEC 6).
  "events.list": async () => [{ query: { limit: "10", type: "user.created" }, status: 200 }],
  "webhooks.create": async () => [{ body: { url: "http://127.0.0.1:9/hooks", events: ["user.created"] }, status: 201 }],
  "webhooks.list": async () => [{ status: 200 }],
  "webhooks.delete": async ({ service }) => [{ params: { id: (await webhook(service)).id }, status: 204 }],
  "webhooks.rotateSecret": async ({ service }) => [{ params: { id: (await webhook(service)).id }, status: 200 }],
  "webhooks.listDeliveries": async ({ service }) => [{ params: { id: (await webhook(service)).id }, status: 200 }],
  "webhooks.retryDelivery": async ({ service }) => [{ params: await webhook(service), status: 204 }]
}

const below: Record<Permission, Permission | undefined> = { READ: undefined, WRITE: "READ", ADMIN: "WRITE" }

describe.each<AdapterName>(["fastify", "express"])("the contract's endpoints on %s", (adapter) => {
  let app: INestApplication
  let url: string
  let service: LagrelloService
  const tokens: Partial<Record<Permission, string>> = {}

  const send = async (endpoint: ContractEndpoint, example: Example, token: string | undefined) => {
    const path = endpoint.path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(example.params?.[name] ?? ""))
    const query = example.query === undefined ? "" : `?${new URLSearchParams(example.query)}`
    const headers: Record<string, string> = {}
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    if (example.body !== undefined) headers["content-type"] = "application/json"
    return fetch(`${url}${path}${query}`, {
      method: endpoint.method,
      headers,
      ...(example.body === undefined ? {} : { body: JSON.stringify(example.body) })
    })
  }

  /** Creates a token with `permissions`; answers the bearer secret and its public id. */
  const createToken = async (permissions: ReadonlyArray<Permission>) => {
    const principal = await service.authenticate(adminToken)
    const name = fresh("token")
    const { tokenKey } = await service.createToken(principal, { tokenName: name, permissions })
    const listed = await service.listTokens(principal, { size: 20, page: 1 })
    const id = listed.data.find((t) => t.tokenName === name)!.tokenKey
    return { secret: tokenKey, id }
  }
  const fixtures = (): Fixtures => ({ tenant: service.tenant, service, tokenId: async () => (await createToken(["READ"])).id })

  beforeAll(async () => {
    ;({ app, service, url } = await startApp(adapter, options({ policies: { webhookAllowPrivate: true } })))
    for (const permission of ["READ", "WRITE", "ADMIN"] as const) tokens[permission] = (await createToken([permission])).secret
  })
  afterAll(() => app.close())

  it("has an example request for every endpoint of the contract", () => {
    expect(Object.keys(examples).sort()).toEqual(contractEndpoints().map((e) => e.key).sort())
  })

  it.each(contractEndpoints().map((e) => [e.key, e] as const))("%s: its method, path, success status and permission", async (_, endpoint) => {
    const prepare = () => examples[endpoint.key]!(fixtures())

    const statuses = new Set<number>()
    for (const request of await prepare()) {
      const answer = await send(endpoint, request, endpoint.permission === undefined ? undefined : tokens[endpoint.permission])
      expect(answer.status, `${endpoint.method} ${endpoint.path}: ${await answer.clone().text()}`).toBe(request.status)
      statuses.add(answer.status)
    }
    expect([...statuses].sort()).toEqual([...endpoint.successStatuses].sort())

    if (endpoint.permission === undefined) return
    const weaker = below[endpoint.permission]
    for (const request of await prepare()) {
      for (const token of [undefined, "not-a-token", ...(weaker === undefined ? [] : [tokens[weaker]!])]) {
        const refused = await send(endpoint, request, token)
        expect(refused.status, `${endpoint.key} with ${token === undefined ? "no token" : token === "not-a-token" ? "a wrong token" : weaker}`).toBe(403)
        expect(await refused.json()).toEqual({ errorType: "Forbidden", message: expect.any(String) })
      }
    }
  })
})
