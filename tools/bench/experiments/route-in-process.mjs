// In process: the CPU time of the verify-TOTP route's program (wrong codes; the users lock after 10, so most
// answers are 429s) on memory storage, without HTTP. node tools/bench/experiments/route-in-process.mjs
// <a core dist folder> [otel]  (with otel: telemetry.otlp, OTEL_EXPORTER_OTLP_ENDPOINT from the
// environment). Prints the CPU microseconds per request of 5 rounds of 9,000 requests, sorted.
const dist = (await import("node:path")).resolve(process.argv[2])
const core = await import(`${dist}/index.js`)
const { Effect, ManagedRuntime, Option } = await import("effect")
const withTelemetry = process.argv[3] === "otel"
const runtime = ManagedRuntime.make(core.Lagrello.layer({
  storage: { memory: true }, mail: { development: true }, encryptionKeys: Buffer.alloc(32, 1).toString("base64"),
  bootstrap: { tenantName: "Acme", accessToken: "bench-token-0123456789abcdef0123456789" }, outbox: { enabled: false }, purge: { enabled: false },
  logger: undefined,
  ...(withTelemetry ? { telemetry: { otlp: {}, prometheus: true } } : {})
}))
const boot = Option.getOrThrow(await runtime.runPromise(core.Bootstrap))
const tenantId = boot.tenant.tenantId
const N = 3000
const users = []
for (let i = 0; i < N; i++) {
  await runtime.runPromise(core.Users.create(tenantId, { userId: `u${i}`, email: `u${i}@example.com` }))
  const { secretKey } = await runtime.runPromise(core.Totp.enable(tenantId, `u${i}`))
  users.push({ userId: `u${i}`, secretKey })
}
const route = core.routes.find((r) => r.group === "auth" && r.name === "verifyTotp")
const req = (u) => ({ authorization: "Bearer bench-token-0123456789abcdef0123456789", contentType: undefined, params: { userId: u.userId }, query: { payload: "000000" }, body: undefined })
const runOne = (u) => new Promise((res) => runtime.runCallback(route.handle(req(u)), { onExit: res }))
// warm
for (let r = 0; r < 2; r++) for (let i = 0; i < N; i += 10) await runOne(users[i])
const { Session } = await import("node:inspector/promises")
const session = process.env.PROFILE ? new Session() : undefined
if (session) { session.connect(); await session.post("Profiler.enable"); await session.post("Profiler.start") }
const rounds = []
for (let k = 0; k < 5; k++) {
  const t0 = process.cpuUsage()
  let n = 0
  for (let rep = 0; rep < 3; rep++) for (const u of users) { await runOne(u); n++ }
  const c = process.cpuUsage(t0)
  rounds.push((c.user + c.system) / n)
}
rounds.sort((a, b) => a - b)
if (session) {
  const { profile: p } = await session.post("Profiler.stop")
  const dt = p.timeDeltas; const idx = new Map(p.nodes.map((n) => [n.id, n])); const self = new Map(); let tot = 0
  for (let i = 0; i < p.samples.length; i++) { const n = idx.get(p.samples[i]); const k = n.callFrame.functionName + " " + n.callFrame.url.split("/").slice(-3).join("/") + ":" + n.callFrame.lineNumber; self.set(k, (self.get(k) || 0) + (dt[i] || 0)); tot += dt[i] || 0 }
  console.log([...self].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([k, t]) => (100 * t / tot).toFixed(1) + "% " + k).join("\n"))
}
console.log(JSON.stringify({ dist, telemetry: withTelemetry, usPerRequest: rounds.map((x) => +x.toFixed(1)) }))
await runtime.dispose()
process.exit(0)
