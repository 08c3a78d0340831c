/** `loadConfig`: defaults, each variable's forms, and one error naming the variable. */
import { describe, expect, it } from "vitest"
import type { ConfigResult, DemoConfig } from "../src/config.js"
import { loadConfig } from "../src/config.js"

const cwd = "/srv/demo"
const key = Buffer.alloc(32, 1).toString("base64")
const token = "t".repeat(32)

const ok = (result: ConfigResult): DemoConfig => {
  if (!result.ok) throw new Error(`expected a configuration, got: ${result.error.message}`)
  return result.config
}
const error = (env: Record<string, string>) => {
  const result = loadConfig(env, cwd)
  if (result.ok) throw new Error("expected an error")
  return result.error
}

describe("loadConfig", () => {
  it("has the documented defaults", () => {
    expect(ok(loadConfig({}, cwd))).toEqual({
      port: 3000,
      host: "127.0.0.1",
      database: { kind: "sqlite", path: "/srv/demo/data/lagrello.db" },
      mail: { kind: "development", from: "Lagrello <no-reply@localhost>" },
      tenantName: "Lagrello Demo",
      accessToken: undefined,
      callbackUrl: "http://127.0.0.1:3000/login/{}",
      publicUrl: "http://127.0.0.1:3000",
      encryptionKey: { kind: "file", path: "/srv/demo/data/lagrello.key" },
      adapter: "fastify",
      devMailbox: { served: true, why: "HOST is a loopback address" },
      webhookAllowPrivate: false,
      eventRetentionDays: 30,
      telemetry: { otlp: undefined, prometheus: false }
    })
  })

  it("reads every variable", () => {
    const config = ok(
      loadConfig(
        {
          PORT: "8080",
          HOST: "0.0.0.0",
          DATABASE_URL: "sqlite:/var/lib/lagrello/auth.db",
          SMTP_URL: "smtps://user:p%40ss@mail.example.com",
          MAIL_FROM: "Acme <login@acme.example>",
          LAGRELLO_ACCESS_TOKEN: token,
          LAGRELLO_TENANT_NAME: "Acme",
          LAGRELLO_CALLBACK_URL: "https://app.acme.example/magic/{}",
          PUBLIC_URL: "https://auth.acme.example/",
          LAGRELLO_ENCRYPTION_KEY: `k2:${key},k1:${key}`,
          LAGRELLO_ADAPTER: "Express",
          LAGRELLO_WEBHOOK_ALLOW_PRIVATE: "1",
          LAGRELLO_EVENT_RETENTION_DAYS: "90",
          LAGRELLO_METRICS: "1",
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector.internal:4318",
          OTEL_SERVICE_NAME: "auth",
          OTEL_METRIC_EXPORT_INTERVAL: "15000"
        },
        cwd
      )
    )
    expect(config).toEqual({
      port: 8080,
      host: "0.0.0.0",
      database: { kind: "sqlite", path: "/var/lib/lagrello/auth.db" },
      mail: { kind: "smtp", url: "smtps://user:p%40ss@mail.example.com", from: "Acme <login@acme.example>" },
      tenantName: "Acme",
      accessToken: token,
      callbackUrl: "https://app.acme.example/magic/{}",
      publicUrl: "https://auth.acme.example",
      encryptionKey: { kind: "configured", keys: `k2:${key},k1:${key}` },
      adapter: "express",
      devMailbox: { served: false, why: "SMTP_URL is set" },
      webhookAllowPrivate: true,
      eventRetentionDays: 90,
      telemetry: {
        otlp: { serviceName: "auth", traces: true, metrics: true, metricExportIntervalMillis: 15000 },
        prometheus: true
      }
    })
  })

  it("exports over OTLP each signal with an endpoint, unless its exporter is none or the SDK is disabled", () => {
    const telemetry = (env: Record<string, string>) => ok(loadConfig(env, cwd)).telemetry
    const signals = (env: Record<string, string>) => {
      const otlp = telemetry(env).otlp
      return otlp === undefined ? "none" : `${otlp.traces ? "traces" : ""}${otlp.metrics ? "+metrics" : ""}`
    }
    expect(signals({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" })).toBe("traces+metrics")
    expect(signals({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://collector.example/v1/traces" })).toBe("traces")
    expect(signals({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://127.0.0.1:4318/v1/metrics" })).toBe("+metrics")
    expect(signals({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_METRICS_EXPORTER: "none" })).toBe("traces")
    expect(signals({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" })).toBe("none")
    expect(signals({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "true" })).toBe("none")
    expect(signals({ OTEL_SERVICE_NAME: "auth" })).toBe("none")
    expect(telemetry({ LAGRELLO_METRICS: "0" })).toEqual({ otlp: undefined, prometheus: false })
    expect(telemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }).otlp).toEqual({
      serviceName: undefined,
      traces: true,
      metrics: true,
      metricExportIntervalMillis: undefined
    })
  })

  it("derives PUBLIC_URL from HOST and PORT, and the callback URL from PUBLIC_URL", () => {
    expect(ok(loadConfig({ HOST: "::1", PORT: "4000" }, cwd)).publicUrl).toBe("http://[::1]:4000")
    const config = ok(loadConfig({ PUBLIC_URL: "https://demo.example/auth/" }, cwd))
    expect(config.callbackUrl).toBe("https://demo.example/auth/login/{}")
  })

  it.each(["0.0.0.0", "::", "0:0:0:0:0:0:0:0", "[::]", "::ffff:0.0.0.0", "000.0.0.0", "0"])(
    "refuses HOST=%s (every interface) without PUBLIC_URL, with one line saying to set it",
    (host) => {
      const e = error({ HOST: host })
      expect(e.variable).toBe("PUBLIC_URL")
      expect(e.message).toMatch(/^PUBLIC_URL: must be set when HOST is a wildcard address/)
      expect(e.message).not.toContain("\n")
      expect(ok(loadConfig({ HOST: host, PUBLIC_URL: "https://auth.example" }, cwd)).publicUrl).toBe("https://auth.example")
    }
  )

  it("derives PUBLIC_URL from a specific HOST", () => {
    expect(ok(loadConfig({ HOST: "192.0.2.10" }, cwd)).publicUrl).toBe("http://192.0.2.10:3000")
    expect(ok(loadConfig({ HOST: "demo.internal" }, cwd)).publicUrl).toBe("http://demo.internal:3000")
  })

  it("serves the development mailbox only on a loopback HOST, unless LAGRELLO_DEV_MAILBOX says otherwise", () => {
    const mailbox = (env: Record<string, string>) => ok(loadConfig(env, cwd)).devMailbox
    for (const host of ["127.0.0.1", "127.8.9.10", "::1", "localhost", "::ffff:127.0.0.1"]) {
      expect(mailbox({ HOST: host }), host).toEqual({ served: true, why: "HOST is a loopback address" })
    }
    const notLoopback = { served: false, why: "HOST is not a loopback address; LAGRELLO_DEV_MAILBOX=1 serves it anyway" }
    expect(mailbox({ HOST: "0.0.0.0", PUBLIC_URL: "https://auth.example" })).toEqual(notLoopback)
    expect(mailbox({ HOST: "192.0.2.10" })).toEqual(notLoopback)
    expect(mailbox({ HOST: "demo.internal" })).toEqual(notLoopback)
    expect(mailbox({ HOST: "192.0.2.10", LAGRELLO_DEV_MAILBOX: "1" })).toEqual({ served: true, why: "LAGRELLO_DEV_MAILBOX=1" })
    expect(mailbox({ LAGRELLO_DEV_MAILBOX: "0" })).toEqual({ served: false, why: "LAGRELLO_DEV_MAILBOX=0" })
    expect(mailbox({ SMTP_URL: "smtp://mail.example.com" })).toEqual({ served: false, why: "SMTP_URL is set" })
    expect(error({ LAGRELLO_DEV_MAILBOX: "yes" }).variable).toBe("LAGRELLO_DEV_MAILBOX")
    expect(error({ LAGRELLO_DEV_MAILBOX: "1", SMTP_URL: "smtp://mail.example.com" }).variable).toBe("LAGRELLO_DEV_MAILBOX")
  })

  it("reads LAGRELLO_WEBHOOK_ALLOW_PRIVATE and LAGRELLO_EVENT_RETENTION_DAYS", () => {
    expect(ok(loadConfig({}, cwd))).toMatchObject({ webhookAllowPrivate: false, eventRetentionDays: 30 })
    expect(ok(loadConfig({ LAGRELLO_WEBHOOK_ALLOW_PRIVATE: "1", LAGRELLO_EVENT_RETENTION_DAYS: "7" }, cwd))).toMatchObject({
      webhookAllowPrivate: true,
      eventRetentionDays: 7
    })
    expect(ok(loadConfig({ LAGRELLO_WEBHOOK_ALLOW_PRIVATE: "0" }, cwd)).webhookAllowPrivate).toBe(false)
    expect(error({ LAGRELLO_WEBHOOK_ALLOW_PRIVATE: "yes" }).variable).toBe("LAGRELLO_WEBHOOK_ALLOW_PRIVATE")
    for (const bad of ["0", "-1", "1.5", "forever", "99999"]) {
      expect(error({ LAGRELLO_EVENT_RETENTION_DAYS: bad }).variable, bad).toBe("LAGRELLO_EVENT_RETENTION_DAYS")
    }
  })

  it("resolves sqlite paths against the working directory, and keeps the key beside the database", () => {
    expect(ok(loadConfig({ DATABASE_URL: "sqlite:db/x.sqlite" }, cwd))).toMatchObject({
      database: { path: "/srv/demo/db/x.sqlite" },
      encryptionKey: { kind: "file", path: "/srv/demo/db/lagrello.key" }
    })
    expect(ok(loadConfig({ DATABASE_URL: "sqlite:///var/x.db" }, cwd)).database.path).toBe("/var/x.db")
    expect(ok(loadConfig({ DATABASE_URL: "sqlite://./x.db" }, cwd)).database.path).toBe("/srv/demo/x.db")
  })

  it("treats empty variables as unset", () => {
    expect(ok(loadConfig({ PORT: "", SMTP_URL: " ", LAGRELLO_ENCRYPTION_KEY: "" }, cwd))).toEqual(ok(loadConfig({}, cwd)))
  })

  it.each([
    [{ PORT: "abc" }, "PORT"],
    [{ PORT: "0" }, "PORT"],
    [{ PORT: "65536" }, "PORT"],
    [{ PORT: "80.5" }, "PORT"],
    [{ HOST: "exa mple" }, "HOST"],
    [{ DATABASE_URL: "postgres://u:p@db/x" }, "DATABASE_URL"],
    [{ DATABASE_URL: "postgresql://db/x" }, "DATABASE_URL"],
    [{ DATABASE_URL: "./data/x.db" }, "DATABASE_URL"],
    [{ DATABASE_URL: "sqlite:" }, "DATABASE_URL"],
    [{ DATABASE_URL: "sqlite::memory:" }, "DATABASE_URL"],
    [{ SMTP_URL: "mail.example.com" }, "SMTP_URL"],
    [{ SMTP_URL: "smtp://mail.example.com?pool=true" }, "SMTP_URL"],
    [{ MAIL_FROM: "no address" }, "MAIL_FROM"],
    [{ MAIL_FROM: "a@b\r\nBcc: x@y" }, "MAIL_FROM"],
    [{ LAGRELLO_ACCESS_TOKEN: "short" }, "LAGRELLO_ACCESS_TOKEN"],
    [{ LAGRELLO_ACCESS_TOKEN: `${token} with spaces` }, "LAGRELLO_ACCESS_TOKEN"],
    [{ LAGRELLO_TENANT_NAME: "x".repeat(129) }, "LAGRELLO_TENANT_NAME"],
    [{ LAGRELLO_CALLBACK_URL: "https://app.example/login" }, "LAGRELLO_CALLBACK_URL"],
    [{ LAGRELLO_CALLBACK_URL: "ftp://app.example/{}" }, "LAGRELLO_CALLBACK_URL"],
    [{ LAGRELLO_CALLBACK_URL: "/login/{}" }, "LAGRELLO_CALLBACK_URL"],
    [{ PUBLIC_URL: "example.com" }, "PUBLIC_URL"],
    [{ PUBLIC_URL: "https://example.com/?x=1" }, "PUBLIC_URL"],
    [{ LAGRELLO_ENCRYPTION_KEY: "short" }, "LAGRELLO_ENCRYPTION_KEY"],
    [{ LAGRELLO_ENCRYPTION_KEY: Buffer.alloc(16).toString("base64") }, "LAGRELLO_ENCRYPTION_KEY"],
    [{ LAGRELLO_ENCRYPTION_KEY: "k1:" }, "LAGRELLO_ENCRYPTION_KEY"],
    [{ LAGRELLO_ADAPTER: "koa" }, "LAGRELLO_ADAPTER"],
    [{ LAGRELLO_METRICS: "yes" }, "LAGRELLO_METRICS"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, "OTEL_EXPORTER_OTLP_ENDPOINT"],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "grpc://collector:4317" }, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"],
    [{ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "not a url" }, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "zipkin" }, "OTEL_TRACES_EXPORTER"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_METRICS_EXPORTER: "prometheus" }, "OTEL_METRICS_EXPORTER"],
    [{ OTEL_METRIC_EXPORT_INTERVAL: "10s" }, "OTEL_METRIC_EXPORT_INTERVAL"]
  ])("%j is an error naming %s", (env, variable) => {
    const e = error(env)
    expect(e.variable).toBe(variable)
    expect(e.message.startsWith(`${variable}: `)).toBe(true)
    expect(e.message).not.toContain("\n")
  })

  it("never repeats a secret value in its errors", () => {
    expect(error({ LAGRELLO_ACCESS_TOKEN: "secret-but-short" }).message).not.toContain("secret")
    expect(error({ SMTP_URL: "smtp://user:hunter2@mail.example.com?x=1" }).message).not.toContain("hunter2")
    expect(error({ LAGRELLO_ENCRYPTION_KEY: "c2VjcmV0LWtleQ==" }).message).not.toContain("c2VjcmV0LWtleQ")
    expect(error({ DATABASE_URL: "postgres://u:hunter2@db/x" }).message).not.toContain("hunter2")
    expect(error({ OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://u:hunter2@collector" }).message).not.toContain("hunter2")
  })

  it("reports the first invalid variable only", () => {
    expect(error({ PORT: "x", LAGRELLO_ADAPTER: "koa" }).variable).toBe("PORT")
  })
})
