// A/B of demo bundles under get-user (or /health/live) load, runs alternating between them so that the
// machine's drift falls on all alike: node tools/bench/experiments/ab-demo.mjs <user|live> <bundle.mjs>...
// Each bundle must sit in apps/demo/dist/bundle/ (it loads better-sqlite3 from node_modules). Server on
// core 0, autocannon (tools/bench/load.mjs) on core 1, 50 connections. Env: RUNS (3), DUR (5 s),
// ENVX: a JSON array of extra environment per bundle (ARGS: node flags). Prints per run: req/s,
// the server's CPU us per request (user + system), its system part, minor faults per request, p99,
// and the idle share of each core (from /proc/stat).
import { spawn, execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { tmpdir } from "node:os"
const [kind, ...bundles] = process.argv.slice(2)
const runs = Number(process.env.RUNS ?? 3), dur = Number(process.env.DUR ?? 5)
const extra = JSON.parse(process.env.ENVX ?? "[]")
const tmp = mkdtempSync(join(tmpdir(), "lagrello-ab-"))
const token = `lgr_bench_${randomBytes(24).toString("base64url")}`
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const cpu = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return [(Number(f[11]) + Number(f[12])) * 1e4, Number(f[12]) * 1e4, Number(f[7])] }
const key = randomBytes(32).toString("base64")
const start = async (b, i, port) => {
  const env = { ...process.env, LAGRELLO_ACCESS_TOKEN: token, LAGRELLO_ENCRYPTION_KEY: key, SMTP_URL: "", DATABASE_URL: `sqlite://${tmp}/d${i}.db`, PORT: String(port), HOST: "127.0.0.1", ...(extra[i] ?? {}) }
  const c = spawn("taskset", ["-c", "0", process.execPath, ...(extra[i]?.ARGS ? extra[i].ARGS.split(" ") : []), b], { env, stdio: ["ignore", "ignore", "inherit"], cwd: new URL("../../..", import.meta.url).pathname })
  for (;;) { try { if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break } catch {} await sleep(20) }
  return c
}
const paths = kind === "live" ? ["/health/live"] : Array.from({ length: 3000 }, (_, i) => `/v1/users/u${i}`)
const servers = []
for (let i = 0; i < bundles.length; i++) {
  const port = 5100 + i
  if (kind === "user") {
    const s = await start(bundles[i], i, port)
    for (let u = 0; u < 3000; u += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => fetch(`http://127.0.0.1:${port}/v1/users`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ userId: `u${u + k}`, email: `u${u + k}@example.com` }) })))
    s.kill("SIGTERM"); await new Promise((r) => s.on("exit", r))
  }
  servers.push({ port, c: await start(bundles[i], i, port), res: [] })
}
for (let r = 0; r < runs; r++) for (let i = 0; i < servers.length; i++) {
  const s = servers[i]
  const f = join(tmp, "load.json")
  writeFileSync(f, JSON.stringify({ url: `http://127.0.0.1:${s.port}`, paths, method: "GET", headers: { authorization: `Bearer ${token}` }, duration: dur, connections: 50 }))
  const c0 = cpu(s.c.pid)
  const st0 = readFileSync("/proc/stat", "utf8").split("\n").filter((l) => /^cpu[01] /.test(l)).map((l) => l.split(/ +/).slice(1).map(Number))
    const outRaw = execFileSync("/usr/bin/time", ["-f", "TIME %U %S", "taskset", "-c", "1", process.execPath, new URL("../load.mjs", import.meta.url).pathname, f], { stdio: ["ignore", "pipe", "pipe"] })
    const st1 = readFileSync("/proc/stat", "utf8").split("\n").filter((l) => /^cpu[01] /.test(l)).map((l) => l.split(/ +/).slice(1).map(Number))
    const d = st1.map((a, k) => a.map((x, j) => x - st0[k][j])); const frac = d.map((a) => { const t = a.reduce((x, y) => x + y, 0); return { idle: +(a[3] / t).toFixed(2), steal: +(a[7] / t).toFixed(2) } })
    const out = JSON.parse(outRaw.toString())
  const c1 = cpu(s.c.pid); const used = c1[0] - c0[0], sys = c1[1] - c0[1], flt = c1[2] - c0[2]
  s.res.push({ cores: frac, rps: Math.round(out.rps), us: +(used / out.total).toFixed(1), sys: +(sys / out.total).toFixed(1), flt: +(flt / out.total).toFixed(2), p99: out.p99, st: Object.keys(out.statuses).join() })
}
for (let i = 0; i < servers.length; i++) { console.log(bundles[i].split("/").pop(), JSON.stringify(servers[i].res)); servers[i].c.kill("SIGTERM") }
await sleep(500); rmSync(tmp, { recursive: true, force: true }); process.exit(0)
