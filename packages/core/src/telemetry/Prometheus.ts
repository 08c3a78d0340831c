/**
 * The metrics of Effect's registry as Prometheus text (exposition format 0.0.4), for `GET /metrics`:
 * counters as `<name>_total`, gauges as they are, histograms as `_bucket{le=...}`, `_sum` and
 * `_count`. Only the service's own metrics (names starting `lagrello_`) unless told otherwise.
 *
 * @since 0.0.0
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"

/**
 * The content type of the text.
 * @since 0.0.0
 */
export const prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

const sanitizeName = (name: string) => name.replace(/[^a-zA-Z0-9_:]/g, "_").replace(/^(?=[0-9])/, "_")
const sanitizeLabel = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, "_").replace(/^(?=[0-9])/, "_")
const escapeValue = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")
const escapeHelp = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const number = (value: number | bigint): string =>
  typeof value === "bigint"
    ? value.toString()
    : Number.isNaN(value)
    ? "NaN"
    : value === Infinity
    ? "+Inf"
    : value === -Infinity
    ? "-Inf"
    : String(value)

const labelText = (labels: ReadonlyArray<readonly [string, string]>): string =>
  labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${sanitizeLabel(k)}="${escapeValue(v)}"`).join(",")}}`

interface Family {
  readonly type: "counter" | "gauge" | "histogram"
  readonly help: string | undefined
  readonly lines: Array<string>
}

/**
 * Renders metric pairs (from `Metric.snapshot`) as Prometheus text.
 * @since 0.0.0
 */
export const prometheusText = (
  pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>,
  options: { readonly prefix?: string } = {}
): string => {
  const prefix = options.prefix ?? "lagrello_"
  const families = new Map<string, Family>()
  const family = (name: string, type: Family["type"], help: string | undefined): Family => {
    let found = families.get(name)
    if (found === undefined) {
      found = { type, help, lines: [] }
      families.set(name, found)
    }
    return found
  }
  for (const pair of pairs) {
    const key = pair.metricKey
    if (!key.name.startsWith(prefix)) continue
    const base = sanitizeName(key.name)
    const help = Option.getOrUndefined(key.description)
    const labels = key.tags.map((tag) => [tag.key, tag.value] as const)
    const state: unknown = pair.metricState
    if (MetricState.isCounterState(state)) {
      const name = `${base}_total`
      family(name, "counter", help).lines.push(`${name}${labelText(labels)} ${number(state.count)}`)
    } else if (MetricState.isGaugeState(state)) {
      family(base, "gauge", help).lines.push(`${base}${labelText(labels)} ${number(state.value)}`)
    } else if (MetricState.isHistogramState(state)) {
      const lines = family(base, "histogram", help).lines
      let infinite = false
      for (const [boundary, count] of state.buckets) {
        if (boundary === Infinity) infinite = true
        lines.push(`${base}_bucket${labelText([...labels, ["le", number(boundary)]])} ${count}`)
      }
      if (!infinite) lines.push(`${base}_bucket${labelText([...labels, ["le", "+Inf"]])} ${state.count}`)
      lines.push(`${base}_sum${labelText(labels)} ${number(state.sum)}`)
      lines.push(`${base}_count${labelText(labels)} ${state.count}`)
    }
  }
  const out: Array<string> = []
  for (const [name, { help, lines, type }] of [...families].sort(([a], [b]) => a.localeCompare(b))) {
    if (help !== undefined) out.push(`# HELP ${name} ${escapeHelp(help)}`)
    out.push(`# TYPE ${name} ${type}`)
    out.push(...lines)
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}

/**
 * The service's metrics now, as Prometheus text.
 * @since 0.0.0
 */
export const metricsText: Effect.Effect<string> = Effect.map(Metric.snapshot, (pairs) => prometheusText(pairs))
