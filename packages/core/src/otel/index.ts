/**
 * `@lagrello/core/otel`: OpenTelemetry export for a Lagrello server, loaded by the composition
 * root only when `telemetry.otlp` is configured (its packages are optional peers: an application
 * without telemetry neither installs nor loads them). Traces go through a batch span processor to
 * the OTLP/HTTP trace exporter, Effect's metrics through a periodic reader to the OTLP/HTTP
 * metric exporter (both JSON over HTTP), via `@effect/opentelemetry`. Closing the layer's scope
 * flushes both and shuts them down.
 *
 * @since 0.0.0
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { OtlpOptions } from "../telemetry/options.js"

export type { OtlpOptions } from "../telemetry/options.js"

/**
 * The tracer (Effect's spans as OpenTelemetry spans) and the metric export, configured by
 * `options` and the standard `OTEL_*` variables (see {@link OtlpOptions}).
 * @since 0.0.0
 * @category layers
 */
export const layerOtlp = (options: OtlpOptions = {}): Layer.Layer<never> =>
  Layer.map(NodeSdk.layer(
    Effect.gen(function*() {
      const serviceName = options.serviceName ??
        (yield* Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("lagrello"), Effect.orElseSucceed(() => "lagrello")))
      const shutdownTimeout = Duration.millis(options.shutdownTimeoutMillis ?? 5000)
      return {
        resource: {
          serviceName,
          ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion })
        },
        spanProcessor: options.traces === false ? undefined : new BatchSpanProcessor(new OTLPTraceExporter()),
        metricReader: options.metrics === false ? undefined : new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter(),
          exportIntervalMillis: options.metricExportIntervalMillis ?? 60_000
        }),
        shutdownTimeout
      }
    })
  ), () => Context.empty())
