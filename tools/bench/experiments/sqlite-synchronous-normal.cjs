// Experiment (preload, changes no source): makes better-sqlite3 apply `synchronous = NORMAL`
// where the core asks for FULL. Usage: BENCH_DEMO_NODE_ARGS="--require ./tools/bench/experiments/sqlite-synchronous-normal.cjs"
const Database = require("better-sqlite3")
const pragma = Database.prototype.pragma
Database.prototype.pragma = function (source, options) {
  return pragma.call(this, /^\s*synchronous\s*=\s*FULL\s*$/i.test(source) ? "synchronous = NORMAL" : source, options)
}
