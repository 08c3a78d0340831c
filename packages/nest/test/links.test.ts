/**
 * What the routes add beyond the contract's shapes, on both adapters: absolute paging links
 * under the application's public URL and the routes' prefix (the reference document declares them
 * `format: uri`), and the rate limit per client address of `GET /v1/images/totp`.
 */
import type { INestApplication } from "@nestjs/common"
import { afterEach, describe, expect, it } from "vitest"
import { adminToken, type AdapterName, options, startApp } from "./support.js"

describe.each<AdapterName>(["fastify", "express"])("on %s", (adapter) => {
  let app: INestApplication | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  const tokenPage = async (url: string, path: string) => {
    const auth = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" }
    for (const name of ["a", "b"]) {
      await fetch(`${url}${path}/v1/tokens`, { method: "POST", headers: auth, body: JSON.stringify({ tokenName: name }) })
    }
    const answer = await fetch(`${url}${path}/v1/tokens?size=1&page=2`, { headers: auth })
    expect(answer.status).toBe(200)
    return ((await answer.json()) as { paging: { previous: string; next: string } }).paging
  }

  it("paging links are absolute under publicUrl, with the prefix", async () => {
    let url: string
    ;({ app, url } = await startApp(adapter, { ...options({ publicUrl: "https://auth.example.com/" }), prefix: "auth" }))
    expect(await tokenPage(url, "/auth")).toEqual({
      previous: "https://auth.example.com/auth/v1/tokens?size=1&page=1",
      next: "https://auth.example.com/auth/v1/tokens?size=1&page=3"
    })
  })

  it("without publicUrl they are paths, with the prefix", async () => {
    let url: string
    ;({ app, url } = await startApp(adapter, { ...options(), prefix: "/auth/" }))
    expect(await tokenPage(url, "/auth")).toEqual({ previous: "/auth/v1/tokens?size=1&page=1", next: "/auth/v1/tokens?size=1&page=3" })
  })

  it("GET /v1/images/totp: 60 a minute per client address, then 429 with Retry-After", async () => {
    let url: string
    ;({ app, url } = await startApp(adapter))
    const image = () => fetch(`${url}/v1/images/totp?tenantName=Acme&userId=alice&userSecret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ`)
    for (let i = 0; i < 60; i++) expect((await image()).status).toBe(200)
    const refused = await image()
    expect(refused.status).toBe(429)
    expect(await refused.json()).toEqual({ errorType: "TooManyRequests", message: expect.any(String) })
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(60)
  })
})
