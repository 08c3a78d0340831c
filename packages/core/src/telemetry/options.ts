/**
 * The telemetry options of a server (`LagrelloConfig.telemetry`): types only, so that the
 * composition root can name them without loading OpenTelemetry.
 *
 * @since 0.0.0
 */

/**
 * The share of requests traced when `OTEL_TRACES_SAMPLER` is not set.
 * @since 0.0.0
 */
export const defaultSampleRatio = 0.01

/**
 * OTLP/HTTP export (JSON) of traces and metrics with the OpenTelemetry JS SDK, from
 * `@lagrello/core/otel`. The exporters read the standard variables themselves:
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
 * `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`), `OTEL_EXPORTER_OTLP_HEADERS`, `..._TIMEOUT`,
 * `..._COMPRESSION`; the tracer provider `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (when
 * unset: {@link OtlpOptions.sampleRatio}); the batch span processor `OTEL_BSP_*`; the resource
 * `OTEL_RESOURCE_ATTRIBUTES`.
 * @since 0.0.0
 */
export interface OtlpOptions {
  /** `service.name` of the resource (default: `OTEL_SERVICE_NAME`, else `lagrello`). */
  readonly serviceName?: string | undefined
  readonly serviceVersion?: string | undefined
  /** Export traces (default true). */
  readonly traces?: boolean | undefined
  /**
   * The share of requests traced when `OTEL_TRACES_SAMPLER` is not set (default 0.01: one request
   * in 100, every 100th; a request's spans are kept or dropped together, and one left out costs
   * no span at all). With `OTEL_TRACES_SAMPLER` set every request is offered to that sampler
   * (`always_on` keeps all: see docs/performance.md for what that costs).
   */
  readonly sampleRatio?: number | undefined
  /** Export metrics (default true). */
  readonly metrics?: boolean | undefined
  /** How often metrics are exported (default 60 s, as `OTEL_METRIC_EXPORT_INTERVAL`). */
  readonly metricExportIntervalMillis?: number | undefined
  /** How long closing waits for the last export (default 5 s). */
  readonly shutdownTimeoutMillis?: number | undefined
}

/**
 * What a server records and exports (SPEC 7.1). Without it the server makes no spans (each costs
 * microseconds) and exports nothing; its metrics are recorded in Effect's registry all the same.
 * @since 0.0.0
 */
export interface TelemetryConfig {
  /**
   * Make the request, operation and mail spans (default: when `otlp` exports traces). `true`
   * without `otlp`: every request, for a tracer of yours (Effect's current tracer); storage spans
   * come only with `otlp`.
   */
  readonly spans?: boolean | undefined
  /** OTLP/HTTP export of traces and metrics; loads `@lagrello/core/otel` (OpenTelemetry) only then. */
  readonly otlp?: OtlpOptions | undefined
  /** Serve the metrics as Prometheus text (`GET /metrics` in the NestJS module). */
  readonly prometheus?: boolean | undefined
  /** How often the outbox depth and oldest age are read from storage (default 15 s). */
  readonly outboxSampleIntervalMillis?: number | undefined
}
