/**
 * Full garbage collections when the server has gone quiet. V8 keeps the memory a load made it
 * grow: the young generation's two semi-spaces stay at 16 MB each and the old generation at up to
 * twice what was live at its last collection, their pages touched, while no collection comes; and
 * none comes while nothing is allocated. Start-up alone left an idle server at 107 MB of RSS, and
 * the bench's load at 333 MB with about 30 MB live (docs/performance.md, "Memory").
 *
 * So, once a second, when the event loop has been almost idle for two seconds and V8's heap has
 * grown beyond what it held after the last such collection, one full collection returns the old
 * generation's garbage; another after six quiet seconds (again at 9 and 12 if needed) lets V8
 * shrink the young generation. Each is a pause of 10-80 ms while nothing is waiting, never during
 * load. And one collection a second after start-up, which allocates far more than it keeps.
 */
import { performance } from "node:perf_hooks"
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

/** What {@link collectionDue} looks at, read once a second. */
export interface HeapReading {
  /** For how many readings in a row the event loop was almost idle (busy at most 1 % of the second). */
  readonly quietSeconds: number
  /** The bytes V8's heap holds now (`total_heap_size`: committed, what RSS sees). */
  readonly heapBytes: number
  /** The same right after the last quiet collection (0 before the first). */
  readonly afterLastBytes: number
  /** The bytes of the young generation now (`new_space`). */
  readonly youngBytes: number
}

/** Busy at most 1 % of a second: a few requests a second at most. */
const quietUtilization = 0.01
/** The heap grown by at least this much since the last quiet collection. */
const minimumGrowthBytes = 8 * 1024 * 1024
/** The young generation as V8 starts it (two 1 MB semi-spaces) is left alone below this. */
const grownYoungBytes = 4 * 1024 * 1024
/**
 * V8 shrinks its young generation only in a collection that finds the allocation rate of its last
 * 5 s low (measured: after a load, a collection at 5 s of quiet kept the 32 MB, one at 6 s returned
 * 31 of them); so more collections once the quiet has lasted this long, at most three per quiet
 * stretch (an idle server whose young generation stays large is not collected every few seconds).
 */
const youngShrinkQuietSeconds = [6, 9, 12]

/**
 * Whether to collect now: quiet for two readings and grown enough since the last quiet collection
 * that a collection returns memory worth a pause; or quiet long enough for V8 to give back the
 * young generation a load grew. A server under light load, whose heap V8's own collections keep
 * in check, is left alone.
 */
export const collectionDue = ({ afterLastBytes, heapBytes, quietSeconds, youngBytes }: HeapReading): boolean =>
  (quietSeconds >= 2 && heapBytes >= afterLastBytes + minimumGrowthBytes) ||
  (youngShrinkQuietSeconds.includes(quietSeconds) && youngBytes > grownYoungBytes)

const youngGenerationBytes = (): number =>
  getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size ?? 0

/**
 * Starts watching (without keeping the process alive for it), and collects once `startupMillis`
 * after the call: start-up allocates far more than it keeps, and a collection a second after
 * listening returned it at once (idle RSS 107.5 -> 91 MB), where the watcher would wait for its
 * quiet readings.
 */
export const collectGarbageWhenQuiet = (options: { readonly intervalMillis?: number; readonly startupMillis?: number } = {}): void => {
  // `gc` is exposed only to contexts created after the flag is set, hence the new context.
  setFlagsFromString("--expose-gc")
  const gc = runInNewContext("gc") as unknown
  if (typeof gc !== "function") return
  let afterLastBytes = 0
  let quietSeconds = 0
  let last = performance.eventLoopUtilization()
  const collect = () => {
    ;(gc as () => void)()
    afterLastBytes = getHeapStatistics().total_heap_size
    // The collection itself was busy time: the next reading starts after it.
    last = performance.eventLoopUtilization()
  }
  setTimeout(collect, options.startupMillis ?? 1000).unref()
  setInterval(() => {
    const now = performance.eventLoopUtilization()
    quietSeconds = performance.eventLoopUtilization(now, last).utilization <= quietUtilization ? quietSeconds + 1 : 0
    last = now
    if (quietSeconds === 0) return
    const reading = { quietSeconds, heapBytes: getHeapStatistics().total_heap_size, afterLastBytes, youngBytes: youngGenerationBytes() }
    if (collectionDue(reading)) collect()
  }, options.intervalMillis ?? 1000).unref()
}
