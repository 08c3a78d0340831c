/**
 * `@lagrello/core/otel`: OpenTelemetry export for a Lagrello server, loaded by the composition
 * root only when `telemetry.otlp` is configured (its packages are optional peers: an application
 * without telemetry neither installs nor loads them). Traces go through a batch span processor to
 * the OTLP/HTTP trace exporter, Effect's metrics through a periodic reader to the OTLP/HTTP
 * metric exporter (both JSON over HTTP), via `@effect/opentelemetry`. Closing the layer's scope
 * flushes both and shuts them down.
 *
 * Two choices keep the cost of tracing down (measured with `BENCH_ONLY=telemetry`, see
 * docs/performance.md):
 * - the spans are not propagated into OpenTelemetry's context API: `@effect/opentelemetry`'s
 *   tracer enters an OpenTelemetry context around every step of a traced fiber (tens of
 *   microseconds per request); nothing inside the server reads that context (no OpenTelemetry
 *   instrumentation runs in its Effect code), and the parent of every span is Effect's own;
 * - without `OTEL_TRACES_SAMPLER`, the composition root traces one request in `1 / sampleRatio`
 *   (default 100) and makes no span at all for the others, and the tracer provider keeps what it
 *   is given (its default, `parentbased_always_on`). With `OTEL_TRACES_SAMPLER` set, every
 *   request is offered to that sampler.
 *
 * @since 0.0.0
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { OtlpOptions } from "../telemetry/options.js"

export type { OtlpOptions } from "../telemetry/options.js"

const environment = (name: string) =>
  Config.option(Config.string(name)).pipe(Effect.orElseSucceed(() => Option.none<string>()), Effect.map(Option.getOrUndefined))

/** Effect's tracer making OpenTelemetry spans, without entering their context at every step. */
const layerTracer: Layer.Layer<never, never, OtelTracer.OtelTracer> = Layer.unwrapEffect(
  Effect.map(OtelTracer.make, (tracer) =>
    Layer.setTracer(Tracer.make({ span: (...args) => tracer.span(...args), context: (execution) => execution() })))
)

/**
 * The tracer (Effect's spans as OpenTelemetry spans) and the metric export, configured by
 * `options` and the standard `OTEL_*` variables (see {@link OtlpOptions}).
 * @since 0.0.0
 * @category layers
 */
export const layerOtlp = (options: OtlpOptions = {}): Layer.Layer<never> =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const serviceName = options.serviceName ?? (yield* environment("OTEL_SERVICE_NAME")) ?? "lagrello"
      const shutdownTimeout = Duration.millis(options.shutdownTimeoutMillis ?? 5000)
      const sdk = NodeSdk.layer(() => ({
        resource: {
          serviceName,
          ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion })
        },
        metricReader: options.metrics === false ? undefined : new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter(),
          exportIntervalMillis: options.metricExportIntervalMillis ?? 60_000
        }),
        shutdownTimeout
      }))
      if (options.traces === false) return Layer.map(sdk, () => Context.empty())
      // The sampler of the OTEL_TRACES_SAMPLER variables (the provider reads them), else its
      // default (parent based, always on): the requests were sampled before their spans were made.
      const provider = NodeSdk.layerTracerProvider(new BatchSpanProcessor(new OTLPTraceExporter()), { shutdownTimeout })
      const tracing = layerTracer.pipe(Layer.provide(OtelTracer.layerTracer), Layer.provide(provider))
      return Layer.map(Layer.provideMerge(tracing, sdk), () => Context.empty())
    })
  )
