#!/usr/bin/env node
// `npm run bench`: builds the demo (nx, cached), then measures it against baselines: bare NestJS
// (baseline-nest.mjs) and raw handlers doing the demo's work for a scenario (issue 18; raw-lib.mjs):
// baseline-raw.mjs (verify TOTP, verify magic link) and baseline-send.mjs (send magic link) on
// node:http + better-sqlite3 with a group commit like the product's, baseline-pg.mjs (verify TOTP,
// get user) on node:http + pg with its pool sized by measurement (BENCH_PG_POOLS, default 5,10,20),
// baseline-read.mjs (get user, SQLite). Each on a database migrated by one start of the demo (its
// schema, tenant and access token), seeded directly. "x raw" (vsRaw) = the demo's row over the
// baseline of its scenario (baselineOf). Informational: baseline-raw.mjs with GROUP_COMMIT=0 (a
// transaction and fsync per write, the old baseline) and with SQLITE_SYNC=NORMAL.
// Server pinned to core 0, load generator (autocannon, load.mjs) to core 1, loopback only.
// Env: BENCH_DURATION (s, default 5), BENCH_RUNS (default 3), BENCH_CONNECTIONS (default 50),
// BENCH_SKIP_BUILD=1, BENCH_PROFILE=0 to skip the CPU profile (BENCH_PROFILE_SCENARIO=get-user profiles
// get user instead of wrong TOTP codes).
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { createInterface } from "node:readline"
import { SourceMap } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"
import { B32, totp } from "./otp.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, "../..")
const demoMain = join(root, "apps/demo/dist/bundle/main.mjs")
const DURATION = Number(process.env.BENCH_DURATION ?? 5)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
// BENCH_ONLY=baselines runs only the raw baselines and the demo rows they compare (SQLite: verify TOTP
// wrong/right, verify magic link, send magic link; PostgreSQL: verify TOTP wrong/right, get user),
// a quick check (with BENCH_DURATION=1 BENCH_RUNS=1 about 3 minutes, mostly the demo's seeding).
// BENCH_ONLY=webhooks runs only the webhook delivery row (BENCH_WEBHOOKS events, default 5000).
// Experiments: BENCH_ONLY=telemetry measures verify TOTP with telemetry off and on (and BENCH_MAIN_BUNDLE,
// another build's bundle, beside them); BENCH_ONLY=totp-wrong runs only the demo's wrong-code scenario (outbox, cold, profile:
// only that measure); BENCH_DEMO_NODE_ARGS adds
// node options to the demo (e.g. a --require preload from tools/bench/experiments/).
const ONLY = process.env.BENCH_ONLY
const PROFILE_SCENARIO = process.env.BENCH_PROFILE_SCENARIO ?? "totp-wrong"
const profiledLoad = PROFILE_SCENARIO === "get-user" ? "get user" : "verify TOTP, wrong codes (10 per user then 429)"
const DEMO_NODE_ARGS = (process.env.BENCH_DEMO_NODE_ARGS ?? "").split(" ").filter(Boolean)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
// Wrong codes: a user is locked out after 10 (then 429, a path without a write). 3000 users per run
// allow 30,000 counted attempts, more than a 5 s run makes: every answer is a 401 with its write.
// (With 1000 per run, more than half the answers were cheap 429s.)
const WRONG_USERS_PER_RUN = Number(process.env.BENCH_WRONG_USERS ?? 3000)
const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0
const pin = (core, cmd, args) => (hasTaskset ? ["taskset", ["-c", String(core), cmd, ...args]] : [cmd, args])
const tmp = mkdtempSync(join(tmpdir(), "lagrello-bench-"))
const log = (...a) => console.error("[bench]", ...a)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const freePort = () =>
  new Promise((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })
// The RSS once the server has been idle for 10 s after its last load: what it holds when the load
// is gone (the demo collects its garbage when quiet, apps/demo/src/memory.ts), beside the reading
// right after the load (rssAfterMb, each row's rssMb).
const settledRss = async (server) => {
  await sleep(10000)
  return rssMb(server.pid)
}
const rssLine = ({ rssAfterMb, rssSettledMb }) =>
  `\nSQLite demo's RSS after its last row: ${rssAfterMb} MB right after the load, ${rssSettledMb} MB after 10 s without load`
const rssMb = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN
}
// CPU time (user + system) a process has used so far, in ms (/proc/PID/stat, clock ticks of 10 ms).
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}
const waitHttp = async (url, deadlineMs = 20000) => {
  const t0 = Date.now()
  for (;;) {
    try {
      const r = await fetch(url)
      if (r.status === 200 || r.status === 404) return
    } catch {}
    if (Date.now() - t0 > deadlineMs) throw new Error(`no answer from ${url}`)
    await sleep(5)
  }
}

// --- TOTP (RFC 6238, SHA-1, 6 digits) for seeding and the right-code scenario
const wrongCodeFor = (secret) => (totp(secret) === "000000" ? "000001" : "000000")
// A right code for the load: the next step's (accepted within the window of 1), so that it is not
// the seeding's confirming code, used up when the load starts within the same 30 s step.
const rightCodeFor = (secret) => totp(secret, Date.now() + 30_000)
const rotate = (xs, by) => [...xs.slice(by), ...xs.slice(0, by)]

// --- processes
const children = new Set()
const startServer = async ({ args, env, core = 0, ready, nodeArgs = [] }) => {
  const port = await freePort()
  const [cmd, cargs] = pin(core, process.execPath, [...nodeArgs, ...args])
  const t0 = performance.now()
  const child = spawn(cmd, cargs, {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.add(child)
  child.on("exit", () => children.delete(child))
  let stderr = ""
  child.stderr.on("data", (d) => (stderr += d))
  const lines = []
  createInterface({ input: child.stdout }).on("line", (l) => {
    if (l.includes("Development mailbox")) lines.push(l)
  })
  const exited = new Promise((r) => child.on("exit", (code) => r(code)))
  const base = `http://127.0.0.1:${port}`
  const res = await Promise.race([waitHttp(base + ready).then(() => "up"), exited.then((c) => `exit ${c}`)])
  if (res !== "up") return { failed: `${res}: ${stderr.trim().split("\n").slice(-2).join(" ")}` }
  return { child, pid: child.pid, base, port, mailLines: lines, startMs: performance.now() - t0, exited,
    stop: async () => { child.kill("SIGTERM"); await Promise.race([exited, sleep(10000)]); if (child.exitCode === null) child.kill("SIGKILL") } }
}

// Saturating load (autocannon, load.mjs), or with `rate` an offered load paced evenly (paced.mjs).
const runLoad = async ({ base, paths, method = "GET", headers = {}, rate }) => {
  const file = join(tmp, `load-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, JSON.stringify({ url: base, paths, method, headers, duration: DURATION, connections: CONNECTIONS, rate }))
  const [cmd, args] = pin(1, process.execPath, [join(here, rate ? "paced.mjs" : "load.mjs"), file])
  const out = execFileSync(cmd, args, { cwd: root, maxBuffer: 1 << 24 }).toString()
  return JSON.parse(out)
}

const scenario = async (name, server, makeLoad) => {
  const runs = []
  let cpu = 0
  for (let r = 0; r < RUNS; r++) {
    const load = await makeLoad(r)
    const before = cpuMs(server.pid)
    runs.push(await runLoad(load))
    cpu += cpuMs(server.pid) - before
  }
  const statuses = {}
  for (const r of runs) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v
  const row = { scenario: name, rps: Math.round(median(runs.map((r) => r.rps))), p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)), meanMs: median(runs.map((r) => r.lat.mean)), rssMb: rssMb(server.pid), statuses,
    errors: runs.reduce((a, r) => a + r.errors, 0), runs: runs.map((r) => Math.round(r.rps)),
    // The server's CPU time per answered request, in microseconds: less sensitive than req/s to
    // other work on the machine (a loaded core slows both, but CPU time counts only the server's).
    cpuUsPerRequest: Math.round((cpu * 1000) / Math.max(1, Object.values(statuses).reduce((a, n) => a + n, 0))) }
  log(name, JSON.stringify(row))
  return row
}

// One paced run (paced.mjs): the latency of a server offered `rate` requests per second.
const pacedScenario = async (name, server, load) => {
  const run = await runLoad(load)
  const row = { scenario: name, rps: Math.round(run.rps), p50: run.p50, p99: run.p99, rssMb: rssMb(server.pid), statuses: run.statuses,
    errors: run.errors, runs: [Math.round(run.rps)], latency: run.lat, offered: load.rate }
  log(name, JSON.stringify(row))
  return row
}

// --- seeding through the API
const pool = async (items, n, f) => {
  let i = 0
  await Promise.all(Array.from({ length: n }, async () => { while (i < items.length) { const it = items[i++]; await f(it) } }))
}
const api = (base, token) => async (method, path, body) => {
  const r = await fetch(base + path, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined })
  const text = await r.text()
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`)
  return text ? JSON.parse(text) : undefined
}

const seedTotpUsers = async (call, prefix, n) => {
  const users = Array.from({ length: n }, (_, i) => ({ userId: `${prefix}${i}` }))
  await pool(users, 16, async (u) => {
    await call("POST", "/v1/users", { userId: u.userId, email: `${u.userId}@example.com` })
    u.secret = (await call("POST", `/v1/users/${u.userId}/totp`, { enable: true })).secretKey
    await call("GET", `/v1/users/${u.userId}/totp?payload=${totp(u.secret)}`)
  })
  return users
}

// --- the demo on one database
// `quick` (BENCH_ONLY=baselines): the rows the raw baselines compare, without the paced one.
const benchDemo = async (label, env, { short = false, quick = false, pacedRate } = {}) => {
  const token = `lgr_bench_${randomBytes(24).toString("base64url")}`
  const demoEnv = { LAGRELLO_ACCESS_TOKEN: token, LAGRELLO_ENCRYPTION_KEY: randomBytes(32).toString("base64"), SMTP_URL: "", ...env }
  const server = await startServer({ args: [demoMain], nodeArgs: DEMO_NODE_ARGS, env: demoEnv, ready: "/health" })
  if (server.failed) return { skipped: server.failed }
  const call = api(server.base, token)
  const auth = { authorization: `Bearer ${token}` }
  log(label, "seeding")
  const t0 = performance.now()
  // One slice of users per run (run r uses slice r), so every run starts from the same state:
  // wrong codes lock a user after 10 attempts, a right code is accepted once per step.
  const wrong = await seedTotpUsers(call, "tw", WRONG_USERS_PER_RUN * RUNS)
  // The wrong-code scenario alone (BENCH_ONLY=totp-wrong), or with get user (the adapter comparison).
  if (short || ONLY === "totp-wrong") {
    const name = short ? `demo (${label})` : "demo"
    const rows = [await scenario(`${name}: verify TOTP, wrong code`, server, (r) => ({ base: server.base, headers: auth,
      paths: wrong.slice(r * WRONG_USERS_PER_RUN, (r + 1) * WRONG_USERS_PER_RUN).map((u) => `/v1/users/${u.userId}/totp?payload=${wrongCodeFor(u.secret)}`) }))]
    if (short) rows.push(await scenario(`${name}: get user`, server, () => ({ base: server.base, headers: auth,
      paths: wrong.map((u) => `/v1/users/${u.userId}`) })))
    const rssAfter = rssMb(server.pid)
    const rssSettled = await settledRss(server)
    await server.stop()
    return { rows, rssAfterMb: rssAfter, rssSettledMb: rssSettled }
  }
  const right = await seedTotpUsers(call, "tr", 600 * RUNS)
  // For the paced latency: 10 wrong codes per user before the lock-out, so 3000 users keep a
  // paced run of 5 s at up to 6,000 req/s all 401.
  const paced = quick ? [] : await seedTotpUsers(call, "tp", 3000)
  const slice = (xs, r) => xs.slice((r * xs.length) / RUNS, ((r + 1) * xs.length) / RUNS)
  // A new link revokes the user's earlier ones: one link per user, so every seeded token is valid.
  const linkUsers = Array.from({ length: 5000 }, (_, i) => `ml${i}`)
  // At most 5 sends per user per 10 minutes: 12,000 users keep the 3 runs' sends all 204 (with
  // 4000, half the answers were throttled 429s at 2,400 req/s).
  const sendUsers = Array.from({ length: 12000 }, (_, i) => `ms${i}`)
  await pool([...linkUsers, ...sendUsers], 16, (u) => call("POST", "/v1/users", { userId: u, email: `${u}@example.com` }))
  const sends = linkUsers
  await pool(sends, 16, (u) => call("POST", `/v1/users/${u}/email`))
  const deadline = Date.now() + 120_000
  while (server.mailLines.length < sends.length && Date.now() < deadline) await sleep(100)
  const tokens = server.mailLines.map((l) => /\/login\/([A-Za-z0-9_-]+)/.exec(l)?.[1]).filter(Boolean)
  log(label, `seeded in ${Math.round(performance.now() - t0)} ms; ${tokens.length} link tokens`)
  const rows = []
  rows.push(await scenario("demo: verify TOTP, wrong code", server, (r) => ({ base: server.base, headers: auth,
    paths: slice(wrong, r).map((u) => `/v1/users/${u.userId}/totp?payload=${wrongCodeFor(u.secret)}`) })))
  rows.push(await scenario("demo: verify TOTP, right code", server, (r) => ({ base: server.base, headers: auth,
    paths: slice(right, r).map((u) => `/v1/users/${u.userId}/totp?payload=${rightCodeFor(u.secret)}`) })))
  rows.push(await scenario("demo: verify magic link", server, (r) => ({ base: server.base, headers: auth,
    paths: slice(tokens, r).map((t) => `/v1/users/email?payload=${t}`) })))
  // Each run starts a third further along the users (load.mjs walks the list from its start, and
  // a run makes more sends than there are users): no user gets a sixth send in 10 minutes.
  rows.push(await scenario("demo: send magic link", server, (r) => ({ base: server.base, headers: auth, method: "POST",
    paths: rotate(sendUsers, Math.round((r * sendUsers.length) / RUNS)).map((u) => `/v1/users/${u}/email`) })))
  rows.push(await scenario("demo: get user", server, () => ({ base: server.base, headers: auth,
    paths: right.map((u) => `/v1/users/${u.userId}`) })))
  // The rows above measure latency at saturation (each connection sends as soon as answered), where
  // it is mostly queueing: mean latency = connections / throughput. This one offers a fixed rate,
  // still over 50 connections: `pacedRate` (half the raw group-commit handler's wrong-code
  // throughput, issue 18), else half the wrong-code throughput just measured. One run of
  // DURATION s; all 401 (every attempt counted and committed).
  const rate = pacedRate ?? Math.round(rows[0].rps / 2)
  if (!quick) rows.push(await pacedScenario(`demo: verify TOTP, wrong code, paced at ${rate} req/s`, server, { base: server.base, headers: auth, rate,
    paths: paced.map((u) => `/v1/users/${u.userId}/totp?payload=${wrongCodeFor(u.secret)}`) }))
  const rssAfter = rssMb(server.pid)
  const rssSettled = await settledRss(server)
  await server.stop()
  return { rows, rssAfterMb: rssAfter, rssSettledMb: rssSettled, seeded: { totpRight: right.length, totpWrong: wrong.length, linkTokens: tokens.length, sendUsers: sendUsers.length } }
}

// Where a frame's self time belongs: a package of node_modules, a folder of the core's source, the
// demo, Node's own JavaScript, or native code (V8's builtins, the garbage collector, C++ addons).
const areaOf = (functionName, where) => {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where)
  // effect: its schemas (decoding and encoding) apart from the rest (fibers, run loop, references).
  if (pkg?.[1] === "effect") return /\/(ParseResult|Schema|SchemaAST)\.ts/.test(where) ? "effect (Schema)" : "effect (runtime and data types)"
  if (pkg) return pkg[1]
  const core = /packages\/core\/src\/([^/:]+)/.exec(where)
  if (core) return `@lagrello/core ${core[1].replace(/\.ts$/, "")}`
  if (/packages\/nest\//.test(where)) return "@lagrello/nest"
  if (/apps\/demo\//.test(where)) return "demo"
  if (/^node:|^internal\//.test(where)) return "node (JavaScript)"
  if (functionName === "(garbage collector)") return "(garbage collector)"
  if (functionName === "(program)") return "(program)"
  if (where !== "") return where
  // Native frames are named by their function: better-sqlite3's statement calls, node:crypto's.
  if (/^(get|run|all|iterate|exec|prepare|pragma|transaction)$/.test(functionName)) return "better-sqlite3 (native)"
  if (/Digest|Cipher|Decipher|Hmac|hash|timingSafeEqual|randomFill|getRandomValues/i.test(functionName)) return "node:crypto (native)"
  return "native (builtins, addons)"
}

const profileDemo = async () => {
  const dir = join(tmp, "prof")
  mkdirSync(dir)
  const token = `lgr_bench_${randomBytes(24).toString("base64url")}`
  const env = { LAGRELLO_ACCESS_TOKEN: token, LAGRELLO_ENCRYPTION_KEY: randomBytes(32).toString("base64"), SMTP_URL: "",
    DATABASE_URL: `sqlite://${join(tmp, "prof.db")}` }
  // Seed with an unprofiled process (enabling TOTP renders QR PNGs), then profile only the load.
  const seeder = await startServer({ args: [demoMain], ready: "/health", env })
  const users = await seedTotpUsers(api(seeder.base, token), "p", 2000)
  await seeder.stop()
  const server = await startServer({ args: [demoMain], nodeArgs: [...DEMO_NODE_ARGS, "--cpu-prof", `--cpu-prof-dir=${dir}`], ready: "/health", env })
  // Wrong codes on 2000 users: 10 per user before the lock-out, so most of the profile is the counting
  // path. BENCH_PROFILE_SCENARIO=get-user: GET /v1/users/{id} on the same users instead.
  await runLoad({ base: server.base, headers: { authorization: `Bearer ${token}` },
    paths: PROFILE_SCENARIO === "get-user" ? users.map((u) => `/v1/users/${u.userId}`)
      : users.map((u) => `/v1/users/${u.userId}/totp?payload=${wrongCodeFor(u.secret)}`) })
  await server.stop()
  // The bundle is minified (a few very long lines): its frames are named by the source map's
  // original file and line, e.g. `packages/core/src/server/Route.ts:180`.
  const bundleUrl = pathToFileURL(demoMain).href
  let bundleMap
  try { bundleMap = new SourceMap(JSON.parse(readFileSync(`${demoMain}.map`, "utf8"))) } catch { bundleMap = undefined }
  const frameWhere = (cf) => {
    if (!cf.url) return ""
    if (cf.url === bundleUrl && bundleMap !== undefined) {
      const entry = bundleMap.findEntry(cf.lineNumber, cf.columnNumber)
      if (entry?.originalSource) return `${entry.originalSource.replace(/^(\.\.\/)+/, "").replace(/^.*node_modules\//, "node_modules/")}:${entry.originalLine + 1}`
    }
    return `${cf.url.replace(/^file:\/\//, "").replace(root + "/", "")}:${cf.lineNumber + 1}`
  }
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"))
  const prof = JSON.parse(readFileSync(join(dir, file), "utf8"))
  const dt = new Map()
  for (let i = 0; i < prof.samples.length; i++) dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0))
  const self = new Map()
  const byArea = new Map()
  let total = 0
  for (const n of prof.nodes) {
    if (n.callFrame.functionName === "(idle)") continue
    const t = dt.get(n.id) ?? 0
    total += t
    const cf = n.callFrame
    const where = frameWhere(cf)
    const key = `${cf.functionName || "(anonymous)"} ${where}`.trim()
    self.set(key, (self.get(key) ?? 0) + t)
    const area = areaOf(cf.functionName, where)
    byArea.set(area, (byArea.get(area) ?? 0) + t)
  }
  const share = (entries, n) => [...entries].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([frame, t]) => ({ frame, selfMs: Math.round(t / 1000), pct: Math.round((1000 * t) / total) / 10 }))
  mkdirSync(join(here, "results"), { recursive: true })
  return { what: `demo, 2000 users, ${profiledLoad} for BENCH_DURATION s at 50 connections; self time, (idle) excluded; includes start-up and shutdown`, totalMs: Math.round(total / 1000), top: share(self, 25), areas: share(byArea, 20) }
}

const coldStart = async () => {
  const out = { firstStartMs: [], restartMs: [], idleRssMb: [] }
  for (let i = 0; i < 3; i++) {
    const db = join(tmp, `cold-${i}.db`)
    const env = { DATABASE_URL: `sqlite://${db}`, LAGRELLO_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      LAGRELLO_ACCESS_TOKEN: `lgr_bench_${randomBytes(24).toString("base64url")}` }
    for (const k of ["firstStartMs", "restartMs"]) {
      const s = await startServer({ args: [demoMain], env, ready: "/health" })
      out[k].push(Math.round(s.startMs))
      // Idle RSS: the restarted server, 10 s after its first answer with no load.
      if (k === "restartMs") { await sleep(10000); out.idleRssMb.push(rssMb(s.pid)) }
      await s.stop()
    }
  }
  return { firstStartMs: median(out.firstStartMs), restartMs: median(out.restartMs), idleRssMb: median(out.idleRssMb), all: out }
}

const outboxRate = async (n = 2000) => {
  // The SMTP server runs in its own process on the load generator's core: in the bench's own
  // process (as before) it shared an event loop with the 2000 sends and, unpinned, the demo's core,
  // and capped what was measured at about 400-550 mails/s.
  let received = 0
  let lastAt = 0
  const smtpPort = await freePort()
  const [cmd, args] = pin(1, process.execPath, [join(here, "smtp-sink.mjs")])
  const sink = spawn(cmd, args, { cwd: root, env: { ...process.env, SMTP_PORT: String(smtpPort) }, stdio: ["ignore", "pipe", "inherit"] })
  children.add(sink)
  const sinkReady = new Promise((res) => {
    createInterface({ input: sink.stdout }).on("line", (l) => {
      if (l === "ready") res()
      else if (l.startsWith("received ")) { received = Number(l.slice(9)); lastAt = performance.now() }
    })
  })
  await sinkReady
  const token = `lgr_bench_${randomBytes(24).toString("base64url")}`
  const server = await startServer({ args: [demoMain], nodeArgs: DEMO_NODE_ARGS, ready: "/health", env: { LAGRELLO_ACCESS_TOKEN: token,
    LAGRELLO_ENCRYPTION_KEY: randomBytes(32).toString("base64"), DATABASE_URL: `sqlite://${join(tmp, "outbox.db")}`,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}` } })
  const call = api(server.base, token)
  // One send per user: a user's newer link supersedes its undelivered messages, so several sends
  // to one user deliver one mail.
  const users = Array.from({ length: n }, (_, i) => `o${i}`)
  await pool(users, 16, (u) => call("POST", "/v1/users", { userId: u, email: `${u}@example.com` }))
  const firstAt = performance.now()
  await pool(users, 16, (u) => call("POST", `/v1/users/${u}/email`))
  const queuedAt = performance.now()
  const receivedWhenQueued = received
  const cpuWhenQueued = cpuMs(server.pid)
  const deadline = Date.now() + 120_000
  while (received < n && Date.now() < deadline) await sleep(20)
  const cpuDraining = cpuMs(server.pid) - cpuWhenQueued
  await server.stop()
  sink.kill("SIGTERM")
  const ms = lastAt - firstAt
  const drainMs = lastAt - queuedAt
  return { mails: n, delivered: received, queueMs: Math.round(queuedAt - firstAt), untilAllDeliveredMs: Math.round(ms),
    mailsPerSec: Math.round((received * 1000) / ms),
    // The worker alone: what it delivered after the last send was queued, per second, and the
    // share of a core the demo used meanwhile.
    afterQueuedMailsPerSec: Math.round(((received - receivedWhenQueued) * 1000) / drainMs),
    demoCpuWhileDraining: +(cpuDraining / drainMs).toFixed(2) }
}

// Webhook deliveries (SPEC 6.3): each created user is an event, delivered signed to a receiver in
// its own process on the load generator's core; the demo (SQLite) on core 0.
const webhookRate = async (n = Number(process.env.BENCH_WEBHOOKS ?? 5000)) => {
  let received = 0
  let distinct = 0
  let lastAt = 0
  const sinkPort = await freePort()
  const [cmd, args] = pin(1, process.execPath, [join(here, "webhook-sink.mjs")])
  const sink = spawn(cmd, args, { cwd: root, env: { ...process.env, SINK_PORT: String(sinkPort) }, stdio: ["ignore", "pipe", "inherit"] })
  children.add(sink)
  await new Promise((res) => {
    createInterface({ input: sink.stdout }).on("line", (l) => {
      if (l === "ready") res()
      else if (l.startsWith("received ")) {
        const [, r, d] = l.split(" ")
        received = Number(r)
        distinct = Number(d)
        lastAt = performance.now()
      }
    })
  })
  const token = `lgr_bench_${randomBytes(24).toString("base64url")}`
  const server = await startServer({ args: [demoMain], nodeArgs: DEMO_NODE_ARGS, ready: "/health", env: { LAGRELLO_ACCESS_TOKEN: token,
    LAGRELLO_ENCRYPTION_KEY: randomBytes(32).toString("base64"), DATABASE_URL: `sqlite://${join(tmp, "webhooks.db")}`,
    LAGRELLO_WEBHOOK_ALLOW_PRIVATE: "1" } })
  const call = api(server.base, token)
  await call("POST", "/v1/webhooks", { url: `http://127.0.0.1:${sinkPort}/hooks`, events: ["user.created"] })
  const users = Array.from({ length: n }, (_, i) => `w${i}`)
  const firstAt = performance.now()
  await pool(users, 64, (u) => call("POST", "/v1/users", { userId: u }))
  const queuedAt = performance.now()
  const receivedWhenQueued = received
  const cpuWhenQueued = cpuMs(server.pid)
  const deadline = Date.now() + 120_000
  while (received < n && Date.now() < deadline) await sleep(20)
  const cpuDraining = cpuMs(server.pid) - cpuWhenQueued
  await server.stop()
  sink.kill("SIGTERM")
  const drainMs = lastAt - queuedAt
  return { events: n, delivered: received, distinctIds: distinct, queueMs: Math.round(queuedAt - firstAt),
    untilAllDeliveredMs: Math.round(lastAt - firstAt), deliveriesPerSec: Math.round((received * 1000) / (lastAt - firstAt)),
    afterQueuedDeliveriesPerSec: Math.round(((received - receivedWhenQueued) * 1000) / drainMs),
    demoCpuWhileDraining: +(cpuDraining / drainMs).toFixed(2) }
}

// Get user: the demo against the raw read handler (baseline-read.mjs), the same users, the same
// token lookup. Both on new SQLite databases; 3000 users.
const getUserPair = async () => {
  const token = `lgr_bench_${randomBytes(24).toString("base64url")}`
  const users = Array.from({ length: 3000 }, (_, i) => `u${i}`)
  const paths = users.map((u) => `/v1/users/${u}`)
  const auth = { authorization: `Bearer ${token}` }
  const nest = await startServer({ args: [join(here, "baseline-nest.mjs")], ready: "/hello" })
  const nestRow = await scenario("baseline: bare NestJS (Fastify), fixed JSON", nest, () => ({ base: nest.base, paths: ["/hello"] }))
  await nest.stop()
  const raw = await startServer({ args: [join(here, "baseline-read.mjs")], ready: "/x", env: { DB_PATH: join(tmp, `read-${Date.now()}.db`), BEARER: token } })
  const rawRow = await scenario("baseline: raw node:http + better-sqlite3, get user", raw, () => ({ base: raw.base, headers: auth, paths }))
  // The latency of a loaded server that keeps up: both offered half the raw handler's capacity.
  const rate = Math.round(rawRow.rps / 2)
  const rawPaced = await pacedScenario(`baseline: raw handler, get user, paced at ${rate} req/s`, raw, { base: raw.base, headers: auth, rate, paths })
  await raw.stop()
  const env = { LAGRELLO_ACCESS_TOKEN: token, LAGRELLO_ENCRYPTION_KEY: randomBytes(32).toString("base64"), SMTP_URL: "",
    DATABASE_URL: `sqlite://${join(tmp, `demo-read-${Date.now()}.db`)}` }
  // Seeded by a process of its own, so that the measured one (and its profile) only reads.
  const seeder = await startServer({ args: [demoMain], ready: "/health", env })
  await pool(users, 16, (u) => api(seeder.base, token)("POST", "/v1/users", { userId: u, email: `${u}@example.com` }))
  await seeder.stop()
  const server = await startServer({ args: [demoMain], nodeArgs: DEMO_NODE_ARGS, ready: "/health", env })
  const demoRow = await scenario("demo: get user (3000 users)", server, () => ({ base: server.base, headers: auth, paths }))
  const demoPaced = await pacedScenario(`demo: get user, paced at ${rate} req/s`, server, { base: server.base, headers: auth, rate, paths })
  await server.stop()
  return [nestRow, rawRow, rawPaced, { ...demoRow, vsRawRead: { rps: +(demoRow.rps / rawRow.rps).toFixed(3), p99: +(demoRow.p99 / rawRow.p99).toFixed(2),
    cpuPerRequest: +(demoRow.cpuUsPerRequest / rawRow.cpuUsPerRequest).toFixed(2) } },
  { ...demoPaced, vsRawRead: { p99: +(demoPaced.p99 / rawPaced.p99).toFixed(2) } }]
}

// Telemetry's cost (BENCH_ONLY=telemetry, SPEC 7.1): verify TOTP on the demo with telemetry off
// (no OTEL_* variables, no LAGRELLO_METRICS), on (OTLP/HTTP export of traces and metrics to a
// local sink, otlp-sink.mjs on core 1, and /metrics; with the default sampling, and with every
// request traced), and, when BENCH_MAIN_BUNDLE names the
// bundle of another build (e.g. main's), that one too. The servers run side by side on core 0,
// each on its own SQLite file, and their runs alternate (run r of each in turn), so that the
// machine's drift falls on all of them alike. Wrong codes (every answer a 401 with its write) and
// right codes (600 users per run).
const telemetryCost = async () => {
  const [scmd, sargs] = pin(1, process.execPath, [join(here, "otlp-sink.mjs")])
  const sink = spawn(scmd, sargs, { cwd: root, stdio: ["ignore", "pipe", "inherit"] })
  children.add(sink)
  const sinkLines = []
  const sinkPort = await new Promise((res) => {
    createInterface({ input: sink.stdout }).on("line", (l) => {
      sinkLines.push(l)
      const m = /^listening (\d+)$/.exec(l)
      if (m) res(Number(m[1]))
    })
  })
  // Exported to the sink: metrics every 5 s, traces as the batch span processor sends them (one
  // request in 100 by default; the last variant traces all of them).
  const otlpEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`, OTEL_SERVICE_NAME: "lagrello-bench",
    OTEL_METRIC_EXPORT_INTERVAL: "5000", LAGRELLO_METRICS: "1" }
  const variants = [
    ...(process.env.BENCH_MAIN_BUNDLE ? [{ label: "main (telemetry off)", main: resolve(process.env.BENCH_MAIN_BUNDLE), env: {} }] : []),
    { label: "telemetry off", main: demoMain, env: {} },
    { label: "telemetry on (OTLP + /metrics)", main: demoMain, env: otlpEnv },
    { label: "telemetry on, every request traced", main: demoMain, env: { ...otlpEnv, OTEL_TRACES_SAMPLER: "always_on" } }
  ]
  const servers = []
  for (const v of variants) {
    const token = `lgr_bench_${randomBytes(24).toString("base64url")}`
    const env = { LAGRELLO_ACCESS_TOKEN: token, LAGRELLO_ENCRYPTION_KEY: randomBytes(32).toString("base64"), SMTP_URL: "",
      DATABASE_URL: `sqlite://${join(tmp, `telemetry-${servers.length}.db`)}`, ...v.env }
    const server = await startServer({ args: [v.main], env, ready: "/health" })
    if (server.failed) throw new Error(`${v.label}: ${server.failed}`)
    const call = api(server.base, token)
    log(v.label, "seeding")
    const wrong = await seedTotpUsers(call, "tw", WRONG_USERS_PER_RUN * RUNS)
    const right = await seedTotpUsers(call, "tr", 600 * RUNS)
    servers.push({ ...v, server, auth: { authorization: `Bearer ${token}` }, wrong, right, runs: { wrong: [], right: [] } })
  }
  const slice = (xs, r) => xs.slice((r * xs.length) / RUNS, ((r + 1) * xs.length) / RUNS)
  for (const kind of ["wrong", "right"]) {
    for (let r = 0; r < RUNS; r++) {
      for (const s of servers) {
        const paths = slice(s[kind], r).map((u) => `/v1/users/${u.userId}/totp?payload=${kind === "wrong" ? wrongCodeFor(u.secret) : rightCodeFor(u.secret)}`)
        const before = cpuMs(s.server.pid)
        const run = await runLoad({ base: s.server.base, headers: s.auth, paths })
        const answered = Object.values(run.statuses).reduce((a, n) => a + n, 0)
        s.runs[kind].push({ ...run, cpuUs: ((cpuMs(s.server.pid) - before) * 1000) / Math.max(1, answered) })
        log(s.label, kind, r, Math.round(run.rps), JSON.stringify(run.statuses))
      }
    }
  }
  const rows = []
  for (const kind of ["wrong", "right"]) {
    for (const s of servers) {
      const runs = s.runs[kind]
      const statuses = {}
      for (const r of runs) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v
      rows.push({ scenario: `${s.label}: verify TOTP, ${kind} code`, rps: Math.round(median(runs.map((r) => r.rps))),
        p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)), runs: runs.map((r) => Math.round(r.rps)),
        cpuUsPerRequest: Math.round(median(runs.map((r) => r.cpuUs))), rssMb: rssMb(s.server.pid), statuses,
        errors: runs.reduce((a, r) => a + r.errors, 0) })
    }
  }
  for (const s of servers) await s.server.stop()
  sink.kill("SIGTERM")
  await new Promise((r) => sink.on("exit", r))
  const exported = JSON.parse(sinkLines.at(-1) ?? "{}")
  // Each row against the "telemetry off" row of its kind.
  const off = (kind) => rows.find((r) => r.scenario === `telemetry off: verify TOTP, ${kind} code`)
  for (const row of rows) {
    const base = off(row.scenario.endsWith("wrong code") ? "wrong" : "right")
    row.vsOff = { rps: +(row.rps / base.rps).toFixed(3), cpuPerRequest: +(row.cpuUsPerRequest / base.cpuUsPerRequest).toFixed(3) }
  }
  for (const row of rows) log(row.scenario, JSON.stringify(row))
  return { rows, exported }
}

// The handoff's long poll across replicas (SPEC 5.3): two demo processes on one PostgreSQL
// database; the device waits on one (GET /v1/handoffs/{id}?wait=30) while the other approves.
// Measured: from sending the approval to the waiter's answer, across replicas (woken by the
// waiter's poll of the database, every 250 ms) and on the same process (woken at once). Baseline
// in the same run: the approval, then an immediate plain read of the handoff on the other
// replica (the least a decision can take to show there without any wait).
const handoffLatency = async (rounds = 30) => {
  if (spawnSync("pg_isready", ["-h", "127.0.0.1", "-p", "5432"]).status !== 0) return { skipped: "PostgreSQL not reachable at 127.0.0.1:5432" }
  const dbName = `lagrello_bench_${randomBytes(4).toString("hex")}`
  const psql = (sql) => spawnSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql], { encoding: "utf8" })
  if (psql(`CREATE DATABASE ${dbName}`).status !== 0) return { skipped: `could not create ${dbName}` }
  const token = `lgr_bench_${randomBytes(24).toString("base64url")}`
  const env = { LAGRELLO_ACCESS_TOKEN: token, LAGRELLO_ENCRYPTION_KEY: randomBytes(32).toString("base64"), SMTP_URL: "",
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}` }
  const a = await startServer({ args: [demoMain], ready: "/health", env })
  const b = await startServer({ args: [demoMain], ready: "/health", env })
  try {
    if (a.failed || b.failed) return { skipped: a.failed ?? b.failed }
    const callA = api(a.base, token)
    const callB = api(b.base, token)
    // Both outbox workers deliver; the link is on the stdout of whichever did.
    const linkOf = async (userId) => {
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(5)) {
        const line = [...a.mailLines, ...b.mailLines].find((l) => l.includes(`${userId}@example.com`))
        if (line) return /\/login\/([A-Za-z0-9_-]{43})/.exec(line)[1]
      }
      throw new Error(`no link for ${userId}`)
    }
    const one = async (name, waitOn, readOn) => {
      await callA("POST", "/v1/users", { userId: name, email: `${name}@example.com` })
      const { handoffId, matchNumber } = await callA("POST", `/v1/users/${name}/email/handoff`)
      const link = await linkOf(name)
      let answeredAt
      const waiting = waitOn && waitOn(`/v1/handoffs/${handoffId}?wait=30`).then((r) => { answeredAt = performance.now(); return r })
      // Let the long poll reach its wait before the decision, at a random phase of its poll
      // interval (a fixed pause would always decide at the same point of it).
      await sleep(300 + Math.random() * 250)
      const sentAt = performance.now()
      await callA("POST", "/v1/handoffs/approve", { payload: link, matchNumber })
      if (readOn) {
        const read = await readOn(`/v1/handoffs/${handoffId}`)
        if (read.status !== "approved") throw new Error(`baseline read: ${read.status}`)
        return performance.now() - sentAt
      }
      const answer = await waiting
      if (answer.status !== "approved") throw new Error(`long poll: ${answer.status}`)
      return answeredAt - sentAt
    }
    const get = (call) => (path) => call("GET", path)
    const stats = (xs) => {
      const sorted = [...xs].sort((x, y) => x - y)
      const at = (q) => +sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1)
      return { p50: at(0.5), p95: at(0.95), max: +sorted.at(-1).toFixed(1), n: xs.length }
    }
    const across = [], same = [], baseline = []
    for (let i = 0; i < rounds; i++) {
      across.push(await one(`hx${i}`, get(callB)))
      same.push(await one(`hs${i}`, get(callA)))
      baseline.push(await one(`hb${i}`, undefined, get(callB)))
    }
    const row = { acrossReplicasMs: stats(across), sameProcessMs: stats(same), baselineApproveThenReadMs: stats(baseline) }
    row.acrossVsBaselineP50 = +(row.acrossReplicasMs.p50 / row.baselineApproveThenReadMs.p50).toFixed(2)
    log("handoff", JSON.stringify(row))
    return row
  } finally {
    await Promise.all([a.stop?.(), b.stop?.()])
    psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
  }
}

// --- The raw baselines of issue 18: hand-written handlers doing the demo's work for a scenario
// (the bearer lookup, sealing, the core's statements and events, the group commit), on databases
// the demo has migrated: one start of the bundle writes the product's schema, its tenant and the
// access token the baselines look up. Seeded directly (sealed secrets, link rows), not through the API.
const migrateWithDemo = async (databaseUrl) => {
  const token = `lgr_bench_${randomBytes(24).toString("base64url")}`
  const key = randomBytes(32).toString("base64")
  const s = await startServer({ args: [demoMain], ready: "/health",
    env: { LAGRELLO_ACCESS_TOKEN: token, LAGRELLO_ENCRYPTION_KEY: key, SMTP_URL: "", DATABASE_URL: databaseUrl } })
  if (s.failed) throw new Error(`migrating ${databaseUrl}: ${s.failed}`)
  await s.stop()
  return { env: { BEARER: token, LAGRELLO_ENCRYPTION_KEY: key }, auth: { authorization: `Bearer ${token}` } }
}
// Users per run of a baseline. Wrong codes: 10,000 (10 counted attempts each, so every answer is a
// 401 with its write, as the demo's). Right codes and links: as many per run as the demo has (600
// users; 5000 tokens over the runs), so that the mix of first uses (200) and replays (401, then
// 429 for a locked user) is the demo's, the status counts compare.
const RAW_PER_RUN = Number(process.env.BENCH_RAW_USERS ?? 10000)
const RAW_RIGHT_PER_RUN = 600, RAW_LINKS = 5000
const rawUsers = (prefix, n) => Array.from({ length: n }, (_, i) => ({ userId: `${prefix}${i}`, secret: Array.from(randomBytes(32), (b) => B32[b & 31]).join("") }))
const perRun = (xs, r, n = RAW_PER_RUN) => xs.slice(r * n, (r + 1) * n)
const wrongPaths = (us) => us.map((u) => `/v1/users/${u.userId}/totp?payload=${wrongCodeFor(u.secret)}`)
const rightPaths = (us) => us.map((u) => `/v1/users/${u.userId}/totp?payload=${rightCodeFor(u.secret)}`)
let rawDbs = 0
// baseline-raw.mjs on a new migrated SQLite file, seeded with TOTP users and links.
const startRaw = async (seed, env = {}) => {
  const db = join(tmp, `raw-${rawDbs++}.db`)
  const creds = await migrateWithDemo(`sqlite://${db}`)
  const seedFile = `${db}.seed.json`
  writeFileSync(seedFile, JSON.stringify(seed))
  const server = await startServer({ args: [join(here, "baseline-raw.mjs")], ready: "/x", env: { DB_PATH: db, SEED_FILE: seedFile, ...creds.env, ...env } })
  if (server.failed) throw new Error(`baseline-raw.mjs: ${server.failed}`)
  return { server, auth: creds.auth }
}

// SQLite: verify TOTP (wrong, right) and verify magic link with group commit; informational, the
// same handler with a transaction and fsync per write (GROUP_COMMIT=0, as the baseline was before)
// and with synchronous = NORMAL; send magic link (baseline-send.mjs).
const sqliteBaselines = async () => {
  const wrong = rawUsers("rw", RAW_PER_RUN * RUNS), right = rawUsers("rr", RAW_RIGHT_PER_RUN * RUNS)
  const links = Array.from({ length: RAW_LINKS }, (_, i) => ({ userId: `rl${i}`, token: randomBytes(32).toString("base64url") }))
  const out = {}
  {
    const { server, auth } = await startRaw({ totp: [...wrong, ...right], links })
    out.wrong = await scenario("baseline: raw, group commit: verify TOTP, wrong code", server, (r) => ({ base: server.base, headers: auth, paths: wrongPaths(perRun(wrong, r)) }))
    out.right = await scenario("baseline: raw, group commit: verify TOTP, right code", server, (r) => ({ base: server.base, headers: auth, paths: rightPaths(perRun(right, r, RAW_RIGHT_PER_RUN)) }))
    out.link = await scenario("baseline: raw, group commit: verify magic link", server, (r) => ({ base: server.base, headers: auth,
      paths: links.slice((r * RAW_LINKS) / RUNS, ((r + 1) * RAW_LINKS) / RUNS).map((l) => `/v1/users/email?payload=${l.token}`) }))
    await server.stop()
  }
  for (const [key, name, env] of [["wrongPerWriteFsync", "info: raw, a transaction and fsync per write (GROUP_COMMIT=0): verify TOTP, wrong code", { GROUP_COMMIT: "0" }],
    ["wrongSynchronousNormal", "info: raw, group commit, synchronous=NORMAL: verify TOTP, wrong code", { SQLITE_SYNC: "NORMAL" }]]) {
    const { server, auth } = await startRaw({ totp: wrong }, env)
    out[key] = await scenario(name, server, (r) => ({ base: server.base, headers: auth, paths: wrongPaths(perRun(wrong, r)) }))
    await server.stop()
  }
  {
    // 5 sends per user per 10 minutes: 40,000 users keep RUNS runs' sends 204 up to ~13,000 req/s at 5 s.
    const sendUsers = Array.from({ length: Number(process.env.BENCH_RAW_SEND_USERS ?? 40000) }, (_, i) => `rs${i}`)
    const db = join(tmp, "raw-send.db")
    const creds = await migrateWithDemo(`sqlite://${db}`)
    writeFileSync(`${db}.seed.json`, JSON.stringify({ sendUsers }))
    const server = await startServer({ args: [join(here, "baseline-send.mjs")], ready: "/x", env: { DB_PATH: db, SEED_FILE: `${db}.seed.json`, ...creds.env } })
    if (server.failed) throw new Error(`baseline-send.mjs: ${server.failed}`)
    out.send = await scenario("baseline: raw, group commit: send magic link", server, () => ({ base: server.base, headers: creds.auth, method: "POST",
      paths: sendUsers.map((u) => `/v1/users/${u}/email`) }))
    await server.stop()
  }
  return out
}

// PostgreSQL: baseline-pg.mjs (verify TOTP wrong and right, get user) on a new database of the
// same server, migrated by the demo. The pool is sized by measurement: each of BENCH_PG_POOLS
// (default 5,10,20) for one DURATION s run of wrong codes and one of get user; the size with the
// best geometric mean of the two req/s is then measured as the other rows are.
const pgAvailable = () => spawnSync("pg_isready", ["-h", "127.0.0.1", "-p", "5432"]).status === 0
const psql = (sql) => spawnSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql], { encoding: "utf8" })
const withPgDatabase = async (f) => {
  const dbName = `lagrello_bench_${randomBytes(4).toString("hex")}`
  const created = psql(`CREATE DATABASE ${dbName}`)
  if (created.status !== 0) return { skipped: `could not create ${dbName}: ${created.stderr.trim()}` }
  try { return await f(`postgres://postgres@127.0.0.1:5432/${dbName}`) } finally { psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`) }
}
const pgBaselines = () => withPgDatabase(async (url) => {
  const sizes = (process.env.BENCH_PG_POOLS ?? "5,10,20").split(",").map(Number)
  const trial = rawUsers("pt", RAW_PER_RUN * sizes.length)
  const wrong = rawUsers("pw", RAW_PER_RUN * RUNS), right = rawUsers("pr", RAW_RIGHT_PER_RUN * RUNS)
  // Get user: the demo reads its right-code users (600 per run); these read as many.
  const readers = right.map((u) => `/v1/users/${u.userId}`)
  const creds = await migrateWithDemo(url)
  const seedFile = join(tmp, "raw-pg-seed.json")
  writeFileSync(seedFile, JSON.stringify({ totp: [...trial, ...wrong, ...right] }))
  const start = async (size) => {
    const s = await startServer({ args: [join(here, "baseline-pg.mjs")], ready: "/x", env: { DATABASE_URL: url, SEED_FILE: seedFile, POOL_SIZE: String(size), ...creds.env } })
    if (s.failed) throw new Error(`baseline-pg.mjs: ${s.failed}`)
    return s
  }
  const poolTrials = []
  for (const [i, size] of sizes.entries()) {
    const s = await start(size)
    const w = await runLoad({ base: s.base, headers: creds.auth, paths: wrongPaths(perRun(trial, i)) })
    const g = await runLoad({ base: s.base, headers: creds.auth, paths: readers })
    await s.stop()
    poolTrials.push({ poolSize: size, wrongRps: Math.round(w.rps), getUserRps: Math.round(g.rps), wrongStatuses: w.statuses, getUserStatuses: g.statuses })
    log("pg pool", JSON.stringify(poolTrials.at(-1)))
  }
  const best = poolTrials.reduce((a, b) => (Math.sqrt(b.wrongRps * b.getUserRps) > Math.sqrt(a.wrongRps * a.getUserRps) ? b : a))
  const s = await start(best.poolSize)
  const name = `baseline: raw node:http + pg (pool ${best.poolSize})`
  const rows = {
    wrong: await scenario(`${name}: verify TOTP, wrong code`, s, (r) => ({ base: s.base, headers: creds.auth, paths: wrongPaths(perRun(wrong, r)) })),
    right: await scenario(`${name}: verify TOTP, right code`, s, (r) => ({ base: s.base, headers: creds.auth, paths: rightPaths(perRun(right, r, RAW_RIGHT_PER_RUN)) })),
    user: await scenario(`${name}: get user`, s, () => ({ base: s.base, headers: creds.auth, paths: readers }))
  }
  await s.stop()
  return { poolSize: best.poolSize, poolTrials, rows }
})

// Which baseline a demo row is compared with (vsRaw): by scenario, from `b` = { wrong, right,
// link, send, user, paced }; undefined when there is none (no ratio).
const baselineOf = (b, row) => {
  if (b === undefined) return undefined
  if (row.offered !== undefined) return row.offered === b.paced?.offered ? b.paced : undefined
  const s = row.scenario
  return s.includes("wrong code") ? b.wrong : s.includes("right code") ? b.right : s.includes("verify magic link") ? b.link
    : s.includes("send magic link") ? b.send : s.includes("get user") ? b.user : undefined
}
const ratios = (r, b) => ({ rps: +(r.rps / b.rps).toFixed(3), p50: +(r.p50 / b.p50).toFixed(2), p99: +(r.p99 / b.p99).toFixed(2),
  rss: +(r.rssMb / b.rssMb).toFixed(2), cpuPerRequest: +(r.cpuUsPerRequest / b.cpuUsPerRequest).toFixed(2) })
const withRawRatios = (rows, b) => rows.map((r) => { const base = baselineOf(b, r); return base === undefined ? r : { ...r, vsRaw: ratios(r, base) } })
const fmt = (rows) => {
  const head = ["scenario", "req/s", "x raw", "x nest", "p50 ms", "x raw", "p99 ms", "x raw", "RSS MB", "x raw", "statuses"]
  const lines = rows.map((r) => [r.scenario, r.rps, r.vsRaw?.rps ?? "", r.vsNest?.rps ?? "", r.p50, r.vsRaw?.p50 ?? "", r.p99, r.vsRaw?.p99 ?? "",
    r.rssMb, r.vsRaw?.rss ?? "", Object.entries(r.statuses).map(([k, v]) => `${k}:${v}`).join(" ")].map(String))
  const all = [head, ...lines]
  const w = head.map((_, i) => Math.max(...all.map((l) => l[i].length)))
  return all.map((l) => l.map((c, i) => c.padEnd(w[i])).join("  ")).join("\n")
}

// BENCH_ONLY=baselines: the raw baselines above and the demo's rows they compare (SQLite: verify
// TOTP wrong/right, verify magic link, send magic link; PostgreSQL: verify TOTP wrong/right, get user).
const baselinesCheck = async () => {
  const raw = await sqliteBaselines()
  const sqlite = await benchDemo("sqlite", { DATABASE_URL: `sqlite://${join(tmp, "demo.db")}` }, { quick: true })
  let pg = { skipped: "PostgreSQL not reachable at 127.0.0.1:5432" }, pgDemo = pg
  if (pgAvailable()) {
    pg = await pgBaselines()
    pgDemo = await withPgDatabase((url) => benchDemo("postgres", { DATABASE_URL: url }, { quick: true }))
  }
  const wanted = (rows, names) => rows.filter((r) => names.some((n) => r.scenario.endsWith(n)))
  const sqliteRows = withRawRatios(wanted(sqlite.rows ?? [], ["wrong code", "right code", "verify magic link", "send magic link"]), raw)
  const pgRows = pg.rows && pgDemo.rows ? withRawRatios(wanted(pgDemo.rows, ["wrong code", "right code", "get user"]), pg.rows) : []
  console.log("\nSQLite: the demo against the raw baselines with group commit (x raw)\n" +
    fmt([raw.wrong, raw.right, raw.link, raw.send, raw.wrongPerWriteFsync, raw.wrongSynchronousNormal, ...sqliteRows]))
  if (pg.rows) console.log(`\nPostgreSQL: the demo against baseline-pg (pool ${pg.poolSize}; trials ${pg.poolTrials.map((t) => `${t.poolSize}: ${t.wrongRps} wrong, ${t.getUserRps} get user req/s`).join("; ")})\n` +
    fmt([pg.rows.wrong, pg.rows.right, pg.rows.user, ...pgRows]))
  else console.log(`\nPostgreSQL skipped: ${pg.skipped ?? pgDemo.skipped}`)
  console.log(rssLine(sqlite))
  return { raw, sqlite: sqliteRows, sqliteRss: { afterMb: sqlite.rssAfterMb, settledMb: sqlite.rssSettledMb }, postgresBaseline: pg, postgres: pgRows.length ? pgRows : pgDemo }
}

// --- main
try {
  if (!process.env.BENCH_SKIP_BUILD) {
    log("building the demo (nx, cached)")
    execFileSync("npx", ["nx", "run-many", "-t", "build", "-p", "@lagrello/demo", "--outputStyle=static"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] })
  }
  const started = new Date()
  if (ONLY === "outbox" || ONLY === "cold") {
    console.log(JSON.stringify({ only: ONLY, ...(ONLY === "outbox" ? await outboxRate() : await coldStart()) }))
  } else if (ONLY === "profile") {
    const p = await profileDemo()
    console.log(JSON.stringify({ only: ONLY, nodeArgs: DEMO_NODE_ARGS, ...p }, null, 1))
  } else if (ONLY === "webhooks") {
    console.log(JSON.stringify({ only: ONLY, ...(await webhookRate()) }))
  } else if (ONLY === "handoff") {
    console.log(JSON.stringify({ only: ONLY, ...(await handoffLatency()) }))
  } else if (ONLY === "get-user") {
    const rows = await getUserPair()
    console.log(JSON.stringify({ only: ONLY, nodeArgs: DEMO_NODE_ARGS, rows }))
  } else if (ONLY === "telemetry") {
    const r = await telemetryCost()
    console.log(JSON.stringify({ only: ONLY, ...r }))
    writeFileSync(join(here, "results", `telemetry-${started.toISOString().replace(/[:.]/g, "-")}.json`), `${JSON.stringify({ started, runs: RUNS, duration: DURATION, ...r }, null, 1)}\n`)
  } else if (ONLY === "baselines") {
    const r = await baselinesCheck()
    mkdirSync(join(here, "results"), { recursive: true })
    writeFileSync(join(here, "results", `baselines-${started.toISOString().replace(/[:.]/g, "-")}.json`),
      `${JSON.stringify({ started, runs: RUNS, duration: DURATION, connections: CONNECTIONS, ...r }, null, 1)}\n`)
  } else if (ONLY === "totp-wrong") {
    const r = await benchDemo("sqlite", { DATABASE_URL: `sqlite://${join(tmp, "demo.db")}` })
    console.log(JSON.stringify({ only: ONLY, nodeArgs: DEMO_NODE_ARGS, ...r }))
  } else {
  log(`taskset: ${hasTaskset ? "server on core 0, load on core 1" : "not available (no pinning)"}; ${RUNS} x ${DURATION}s, ${CONNECTIONS} connections`)
  // Baseline 1: bare NestJS on Fastify
  const nest = await startServer({ args: [join(here, "baseline-nest.mjs")], ready: "/hello" })
  const nestRow = await scenario("baseline: bare NestJS (Fastify), fixed JSON", nest, () => ({ base: nest.base, paths: ["/hello"] }))
  await nest.stop()
  // Baseline 2: the raw handlers with the product's work and group commit (SQLite), and the
  // informational ones (a transaction and fsync per write; synchronous = NORMAL).
  const raw = await sqliteBaselines()
  const sqlite = await benchDemo("sqlite", { DATABASE_URL: `sqlite://${join(tmp, "demo.db")}` },
    raw.wrong?.rps ? { pacedRate: Math.round(raw.wrong.rps / 2) } : {})
  // Get user against a raw read handler doing the same token and user lookups (no write, no fsync).
  const getUser = await getUserPair()
  // The raw handler offered the demo's paced load (a new database: users it has not seen, all 401).
  const pacedDemo = sqlite.rows?.find((r) => r.offered)
  if (pacedDemo) {
    const pacedUsers = rawUsers("rp", RAW_PER_RUN)
    const { server: rawP, auth } = await startRaw({ totp: pacedUsers })
    raw.paced = await pacedScenario(`baseline: raw, group commit: verify TOTP, wrong code, paced at ${pacedDemo.offered} req/s`, rawP, { base: rawP.base,
      headers: auth, rate: pacedDemo.offered, paths: wrongPaths(pacedUsers) })
    await rawP.stop()
  }
  const rawPacedRow = raw.paced
  // The Express adapter: its own bare baseline and the demo on it (SQLite), a short set.
  const nestExpress = await startServer({ args: [join(here, "baseline-nest.mjs")], ready: "/hello", env: { ADAPTER: "express" } })
  const nestExpressRow = await scenario("baseline: bare NestJS (Express), fixed JSON", nestExpress, () => ({ base: nestExpress.base, paths: ["/hello"] }))
  await nestExpress.stop()
  const express = await benchDemo("express", { DATABASE_URL: `sqlite://${join(tmp, "demo-express.db")}`, LAGRELLO_ADAPTER: "express" }, { short: true })
  // PostgreSQL half: only when reachable and accepted by the demo.
  // Its rows are compared with baseline-pg.mjs (pool sized by measurement) on the same server.
  let postgres = { skipped: "PostgreSQL not reachable at 127.0.0.1:5432" }, pgBaseline = postgres
  if (pgAvailable()) {
    pgBaseline = await pgBaselines()
    postgres = await withPgDatabase((url) => benchDemo("postgres", { DATABASE_URL: url }))
  }
  if (postgres.skipped) console.log(`PostgreSQL half skipped: ${postgres.skipped}`)

  log("handoff long poll"); const handoff = await handoffLatency()
  log("cold start"); const cold = await coldStart()
  log("outbox delivery"); const outbox = await outboxRate()
  log("webhook delivery"); const webhooks = await webhookRate()
  const profile = process.env.BENCH_PROFILE === "0" ? undefined : (log("cpu profile"), await profileDemo())

  // vsRaw: each demo row against the raw baseline of its scenario (baselineOf: SQLite rows against
  // the group-commit handlers, a paced row against the raw handler paced at the same rate;
  // PostgreSQL's wrong, right and get user rows against baseline-pg); get user on SQLite is
  // compared in its own set (getUserPair). vsNest: against the bare NestJS app.
  const withRatios = (rows, b = raw) => withRawRatios(rows, b).map((r) => ({ ...r,
    vsNest: { rps: +(r.rps / nestRow.rps).toFixed(3), p99: +(r.p99 / nestRow.p99).toFixed(2), rss: +(r.rssMb / nestRow.rssMb).toFixed(2) } }))
  const result = { date: started.toISOString(), node: process.version, pinned: hasTaskset, durationS: DURATION, runs: RUNS, connections: CONNECTIONS,
    baselines: { nest: nestRow, raw, postgres: pgBaseline },
    sqlite: sqlite.rows ? { ...sqlite, rows: withRatios(sqlite.rows) } : sqlite,
    postgres: postgres.rows ? { ...postgres, rows: withRatios(postgres.rows, pgBaseline.rows) } : postgres,
    express: express.rows ? { ...express, baseline: nestExpressRow, rows: withRatios(express.rows).map((r) => ({ ...r, vsNestExpress: { rps: +(r.rps / nestExpressRow.rps).toFixed(3) } })) } : express,
    getUser, coldStart: cold, outbox, webhooks, handoff, profile }

  console.log("\n" + fmt([nestRow, raw.wrong, raw.right, raw.link, raw.send, raw.wrongPerWriteFsync, raw.wrongSynchronousNormal,
    ...(rawPacedRow ? [rawPacedRow] : []), ...(result.sqlite.rows ?? [])]))
  console.log("\nGet user against the raw read handler (x raw = x the read handler)\n" + fmt(getUser.map((r) => ({ ...r, vsRaw: r.vsRawRead }))))
  if (result.postgres.rows && pgBaseline.rows) console.log(`\nPostgreSQL (x raw = x baseline-pg, pool ${pgBaseline.poolSize} of ${pgBaseline.poolTrials.map((t) => t.poolSize).join(", ")} measured)\n` +
    fmt([pgBaseline.rows.wrong, pgBaseline.rows.right, pgBaseline.rows.user, ...result.postgres.rows]))
  else if (result.postgres.rows) console.log(`\nPostgreSQL (baseline-pg skipped: ${pgBaseline.skipped})\n` + fmt(result.postgres.rows))
  if (result.express.rows) console.log("\nExpress adapter (x nest = against the bare Fastify app; bare Express below)\n" + fmt([nestExpressRow, ...result.express.rows]))
  if (handoff.acrossReplicasMs) {
    console.log(`\nhandoff long poll, approval to answer: across replicas p50 ${handoff.acrossReplicasMs.p50} ms, p95 ${handoff.acrossReplicasMs.p95} ms, ` +
      `max ${handoff.acrossReplicasMs.max} ms; same process p50 ${handoff.sameProcessMs.p50} ms; baseline (approve, then read on the other) ` +
      `p50 ${handoff.baselineApproveThenReadMs.p50} ms (x${handoff.acrossVsBaselineP50})`)
  } else console.log(`\nhandoff long poll skipped: ${handoff.skipped}`)
  if (sqlite.rssAfterMb) console.log(rssLine(sqlite))
  console.log(`\ncold start (spawn to first /health 200): first start ${cold.firstStartMs} ms, restart ${cold.restartMs} ms; idle RSS ${cold.idleRssMb} MB (10 s after the restart's first answer)`)
  console.log(`outbox: ${outbox.delivered}/${outbox.mails} mails delivered in ${outbox.untilAllDeliveredMs} ms from the first send = ${outbox.mailsPerSec} mails/s; the worker alone ${outbox.afterQueuedMailsPerSec} mails/s (demo CPU ${outbox.demoCpuWhileDraining} of a core)`)
  console.log(`webhooks: ${webhooks.delivered}/${webhooks.events} deliveries (${webhooks.distinctIds} distinct webhook-ids) in ${webhooks.untilAllDeliveredMs} ms from the first event = ${webhooks.deliveriesPerSec}/s; the worker alone ${webhooks.afterQueuedDeliveriesPerSec}/s (demo CPU ${webhooks.demoCpuWhileDraining} of a core)`)
  if (profile) {
    console.log(`\nCPU profile of ${profiledLoad} under load, top self time:\n` + profile.top.slice(0, 15).map((t) => `  ${String(t.pct).padStart(5)}%  ${t.frame}`).join("\n"))
    console.log("\nthe same by area:\n" + profile.areas.slice(0, 12).map((t) => `  ${String(t.pct).padStart(5)}%  ${t.frame}`).join("\n"))
  }
  mkdirSync(join(here, "results"), { recursive: true })
  const out = join(here, "results", `${started.toISOString().replace(/[:.]/g, "-")}.json`)
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n")
  console.log(`\nwritten ${out.replace(root + "/", "")}`)
  }
} finally {
  for (const c of children) c.kill("SIGKILL")
  rmSync(tmp, { recursive: true, force: true })
}
