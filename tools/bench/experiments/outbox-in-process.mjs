// In process: the CPU time of the outbox's per-mail path against a local SMTP peer
// (tools/bench/smtp-sink.mjs, in its own process). node tools/bench/experiments/outbox-in-process.mjs
// <a core dist folder> [worker|worker-noop|transport] (default worker).
// - worker: SQLite storage on a temporary file, 400 users; each round queues one link per user
//   (MagicLink.send, not timed) and times `deliverDue` passes (batches of 40, 20 at a time) until
//   the outbox is empty: the worker's whole path (lease, open, send, mark, events). worker-noop:
//   the same with a transport that accepts each message at once, without SMTP.
// - transport: `MailTransport.send` alone, 20 at a time, of a typical sign-in message.
// Prints the CPU microseconds (user + system of this process) per mail of 5 rounds, sorted.
// PROFILE=1: a CPU profile of the timed parts of the rounds, self time by frame and by package
// (a sampling profile: time in synchronous native calls such as SQLite's commit counts too).
// Run it pinned (taskset -c 1); the peer is pinned to the same core by the script when taskset exists.
import { Buffer } from "node:buffer"
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

process.on("unhandledRejection", (e) => { console.error(e); process.exit(1) })
const dist = resolve(process.argv[2])
const mode = process.argv[3] ?? "worker"
const here = fileURLToPath(new URL(".", import.meta.url))
const core = await import(`${dist}/index.js`)
const { Effect, ManagedRuntime, Option } = await import("effect")

const freePort = () => new Promise((res) => {
  const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => res(port)) })
})
const port = await freePort()
const pinned = spawnSync("taskset", ["-c", "1", "true"]).status === 0
const sink = spawn(pinned ? "taskset" : process.execPath, [...(pinned ? ["-c", "1", process.execPath] : []), join(here, "..", "smtp-sink.mjs")], {
  env: { ...process.env, SMTP_PORT: String(port) }, stdio: ["ignore", "pipe", "inherit"]
})
let received = 0
let waiting
sink.stdout.setEncoding("utf8")
let ready
const readyP = new Promise((r) => { ready = r })
sink.stdout.on("data", (chunk) => {
  if (chunk.includes("ready")) ready()
  const m = chunk.match(/received (\d+)\n$/)
  if (m) { received = Number(m[1]); if (waiting && received >= waiting.n) { waiting.r(); waiting = undefined } }
})
await readyP
process.on("exit", () => sink.kill("SIGTERM"))
const untilReceived = (n) => received >= n ? Promise.resolve() : new Promise((r) => { waiting = { n, r } })

const dir = mkdtempSync(join(tmpdir(), "lagrello-outbox-exp-"))
const token = "bench-token-0123456789abcdef0123456789"
const runtime = ManagedRuntime.make(core.Lagrello.layer({
  storage: { sqlite: join(dir, "outbox.db") },
  mail: { smtp: { url: `smtp://127.0.0.1:${port}`, from: "Acme Sign-in <login@acme.example>" } },
  encryptionKeys: Buffer.alloc(32, 1).toString("base64"),
  bootstrap: { tenantName: "Acme", accessToken: token, callbackUrl: "https://app.example.com/login/{}" },
  policies: { sendLimit: 1_000_000 },
  outbox: { enabled: false }, purge: { enabled: false }, logger: undefined
}))
const boot = Option.getOrThrow(await runtime.runPromise(core.Bootstrap))
const tenantId = boot.tenant.tenantId
const U = 400
for (let i = 0; i < U; i++) await runtime.runPromise(core.Users.create(tenantId, { userId: `u${i}`, email: `u${i}@example.com` }))

const queue = () => runtime.runPromise(Effect.forEach(Array.from({ length: U }, (_, i) => `u${i}`), (u) => core.MagicLink.send(tenantId, u), { discard: true }))
const { Layer } = await import("effect")
// worker-noop: the worker with a transport that accepts every message at once (no SMTP).
const noop = Layer.succeed(core.MailTransport, core.MailTransport.of({ send: () => Effect.void }))
const drain = () => runtime.runPromise(Effect.gen(function* () {
  let n = 0
  for (;;) {
    const report = yield* (mode === "worker-noop" ? Effect.provide(core.deliverDue(), noop) : core.deliverDue())
    n += report.sent
    if (report.claimed === 0) return n
  }
}))
const message = core.magicLinkMessage({ to: "someone@example.com", link: "https://app.example.com/login/" + "A".repeat(43), tenantName: "Acme", lifetimeMinutes: 15 })
const M = 2000
const sendAll = () => runtime.runPromise(Effect.flatMap(core.MailTransport, (t) => Effect.forEach(Array.from({ length: M }), () => t.send(message), { concurrency: 20, discard: true })))

const { Session } = await import("node:inspector/promises")
const session = process.env.PROFILE ? new Session() : undefined
if (session) { session.connect(); await session.post("Profiler.enable"); await session.post("Profiler.setSamplingInterval", { interval: 100 }) }
let profiling = false
const profiles = []
const timed = async (f) => {
  if (session && profiling) await session.post("Profiler.start")
  const t0 = process.cpuUsage(); const n = await f(); const c = process.cpuUsage(t0)
  if (session && profiling) profiles.push((await session.post("Profiler.stop")).profile)
  return { n, c }
}
let total = 0
const round = async () => {
  if (mode === "transport") {
    const { c } = await timed(async () => { await sendAll(); return M })
    total += M; await untilReceived(total)
    return (c.user + c.system) / M
  }
  await queue()
  const { n, c } = await timed(drain)
  if (n !== U) throw new Error(`sent ${n}, expected ${U}`)
  total += n; if (mode !== "worker-noop") await untilReceived(total)
  return (c.user + c.system) / n
}
for (let w = 0; w < 2; w++) await round()

profiling = true
const self = new Map(); const pkg = new Map(); let tot = 0
const rounds = []
for (let k = 0; k < 5; k++) rounds.push(await round())
rounds.sort((a, b) => a - b)
if (process.env.PROFILE_OUT) (await import("node:fs")).writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profiles))
for (const p of profiles) {
  const dt = p.timeDeltas; const idx = new Map(p.nodes.map((n) => [n.id, n]))
  const pkgOf = (url) => {
    const m = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/)
    if (m) return m[1]
    if (url.includes("/dist")) return "@lagrello/core"
    if (url.startsWith("node:")) return "node:" + url.slice(5).split("/")[0]
    return url === "" ? "(native/vm)" : url
  }
  for (let i = 0; i < p.samples.length; i++) {
    const n = idx.get(p.samples[i]); const f = n.callFrame
    if (f.functionName === "(idle)") continue
    const k = f.functionName + " " + f.url.split("/").slice(-3).join("/") + ":" + f.lineNumber
    self.set(k, (self.get(k) || 0) + (dt[i] || 0)); pkg.set(pkgOf(f.url), (pkg.get(pkgOf(f.url)) || 0) + (dt[i] || 0)); tot += dt[i] || 0
  }
}
if (session) {
  console.log([...pkg].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, t]) => (100 * t / tot).toFixed(1) + "% " + k).join("\n"))
  console.log("--")
  console.log([...self].sort((a, b) => b[1] - a[1]).slice(0, 45).map(([k, t]) => (100 * t / tot).toFixed(1) + "% " + k).join("\n"))
}
console.log(JSON.stringify({ dist, mode, usPerMail: rounds.map((x) => +x.toFixed(1)) }))
await runtime.dispose()
sink.kill("SIGTERM")
rmSync(dir, { recursive: true, force: true })
process.exit(0)
