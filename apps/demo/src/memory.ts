/**
 * One full garbage collection shortly after start-up. Starting the server allocates far more than
 * it keeps (Nest's module scan, the contract's schemas, the migrations): V8 grows its young
 * generation to 16 MB for it and keeps those pages touched while no collection comes, so an idle
 * server sat at 107 MB of RSS. One collection a second after listening returns them: 91 MB idle
 * (docs/performance.md, "Memory"), for a pause of about 20 ms once, after the first answers.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

/** Schedules the collection (without keeping the process alive for it). */
export const collectStartupGarbage = (afterMillis = 1000): void => {
  // `gc` is exposed only to contexts created after the flag is set, hence the new context.
  setFlagsFromString("--expose-gc")
  const gc = runInNewContext("gc") as unknown
  if (typeof gc !== "function") return
  setTimeout(() => (gc as () => void)(), afterMillis).unref()
}
