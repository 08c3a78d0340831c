// In process: the CPU time of the get-user route's program (GET /v1/users/:userId, all 200) on a
// SQLite file, without HTTP: what the route costs beside the framework. Used for A/B of the
// request program (issue 13): node tools/bench/experiments/get-user-in-process.mjs <a core dist
// folder> [calls]. Prints the CPU microseconds per request of 5 rounds, sorted. SYNC=1 runs each
// request with runSyncExit instead of runCallback.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
const dist = resolve(process.argv[2])
const calls = Number(process.argv[3] ?? 40000)
const core = await import(`${dist}/index.js`)
const { ManagedRuntime, Option } = await import("effect")
const dir = mkdtempSync(join(tmpdir(), "lagrello-get-user-"))
const token = "bench-token-0123456789abcdef0123456789"
const runtime = ManagedRuntime.make(core.Lagrello.layer({
  storage: { sqlite: join(dir, "bench.db") }, mail: { development: true }, encryptionKeys: Buffer.alloc(32, 1).toString("base64"),
  bootstrap: { tenantName: "Acme", accessToken: token }, outbox: { enabled: false }, purge: { enabled: false },
  logger: undefined
}))
const boot = Option.getOrThrow(await runtime.runPromise(core.Bootstrap))
const tenantId = boot.tenant.tenantId
const N = 1000
for (let i = 0; i < N; i++) await runtime.runPromise(core.Users.create(tenantId, { userId: `u${i}`, email: `u${i}@example.com` }))
const route = core.routes.find((r) => r.group === "users" && r.name === "get")
const request = (i) => ({ authorization: `Bearer ${token}`, contentType: undefined, params: { userId: `u${i % N}` }, query: {}, body: undefined })
let statuses = {}
const count = (exit) => { statuses[exit.value?.status] = (statuses[exit.value?.status] ?? 0) + 1 }
const runOne = process.env.SYNC ? async (i) => count(runtime.runSyncExit(route.handle(request(i)))) : (i) => new Promise((res) => runtime.runCallback(route.handle(request(i)), { onExit: (exit) => { count(exit); res() } }))
for (let i = 0; i < 20000; i++) await runOne(i)
// PROFILE=1: a CPU profile of the measured rounds only, self time per function (top 40).
const { Session } = await import("node:inspector/promises")
const session = process.env.PROFILE ? new Session() : undefined
if (session) { session.connect(); await session.post("Profiler.setSamplingInterval", { interval: 50 }); await session.post("Profiler.enable"); await session.post("Profiler.start") }
const rounds = []
for (let k = 0; k < 5; k++) {
  const t0 = process.cpuUsage()
  for (let i = 0; i < calls; i++) await runOne(i)
  const c = process.cpuUsage(t0)
  rounds.push((c.user + c.system) / calls)
}
rounds.sort((a, b) => a - b)
if (session) {
  const { profile: p } = await session.post("Profiler.stop")
  const byId = new Map(p.nodes.map((n) => [n.id, n])); const self = new Map(); let total = 0
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]); const k = `${n.callFrame.functionName} ${n.callFrame.url.split("/").slice(-2).join("/")}:${n.callFrame.lineNumber}`
    self.set(k, (self.get(k) ?? 0) + (p.timeDeltas[i] ?? 0)); total += p.timeDeltas[i] ?? 0
  }
  console.log([...self].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([k, t]) => `${(100 * t / total).toFixed(1)}% ${k}`).join("\n"))
}
console.log(JSON.stringify({ dist, usPerRequest: rounds.map((x) => +x.toFixed(2)), statuses }))
await runtime.dispose()
rmSync(dir, { recursive: true, force: true })
process.exit(0)
