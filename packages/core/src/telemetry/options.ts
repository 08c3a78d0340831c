/**
 * The telemetry options of a server (`LagrelloConfig.telemetry`): types only, so that the
 * composition root can name them without loading OpenTelemetry.
 *
 * @since 0.0.0
 */

/**
 * OTLP/HTTP export (JSON) of traces and metrics with the OpenTelemetry JS SDK, from
 * `@lagrello/core/otel`. The exporters read the standard variables themselves:
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
 * `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`), `OTEL_EXPORTER_OTLP_HEADERS`, `..._TIMEOUT`,
 * `..._COMPRESSION`; the tracer provider `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`; the
 * batch span processor `OTEL_BSP_*`; the resource `OTEL_RESOURCE_ATTRIBUTES`.
 * @since 0.0.0
 */
export interface OtlpOptions {
  /** `service.name` of the resource (default: `OTEL_SERVICE_NAME`, else `lagrello`). */
  readonly serviceName?: string | undefined
  readonly serviceVersion?: string | undefined
  /** Export traces (default true). */
  readonly traces?: boolean | undefined
  /** Export metrics (default true). */
  readonly metrics?: boolean | undefined
  /** How often metrics are exported (default 60 s, as `OTEL_METRIC_EXPORT_INTERVAL`). */
  readonly metricExportIntervalMillis?: number | undefined
  /** How long closing waits for the last export (default 5 s). */
  readonly shutdownTimeoutMillis?: number | undefined
}

/**
 * What a server records and exports (SPEC 7.1). Without it the server has no storage spans and
 * exports nothing; its request and operation spans go to Effect's default tracer (or one of
 * yours), and its metrics are recorded in Effect's registry.
 * @since 0.0.0
 */
export interface TelemetryConfig {
  /** OTLP/HTTP export of traces and metrics; loads `@lagrello/core/otel` (OpenTelemetry) only then. */
  readonly otlp?: OtlpOptions | undefined
  /** Serve the metrics as Prometheus text (`GET /metrics` in the NestJS module). */
  readonly prometheus?: boolean | undefined
  /** How often the outbox depth and oldest age are read from storage (default 15 s). */
  readonly outboxSampleIntervalMillis?: number | undefined
}
