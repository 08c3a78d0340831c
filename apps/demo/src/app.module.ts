/**
 * The demo application: the Lagrello v1 API (from `@lagrello/nest`) and the demo's own routes.
 */
import type { LagrelloModuleOptions } from "@lagrello/nest"
import { LagrelloModule } from "@lagrello/nest"
import type { DynamicModule } from "@nestjs/common"
import { Module } from "@nestjs/common"
import { APP_FILTER } from "@nestjs/core"
import type { DemoConfig } from "./config.js"
import { defaultCallbackUrl } from "./config.js"
import { DemoExceptionFilter } from "./http/exception.filter.js"
import { HealthController } from "./http/health.controller.js"
import { LoginController } from "./http/login.controller.js"
import { MailboxController } from "./http/mailbox.controller.js"
import { OpenApiController } from "./http/openapi.controller.js"
import { effectLogger } from "./logger.js"
import { TenantBootstrap } from "./tenant-bootstrap.js"
import { webControllers, webProviders } from "./web/index.js"
import { DEMO_CONFIG } from "./tokens.js"

/** The module options from the configuration and the encryption keys (configured or from the key file). */
export const lagrelloOptions = (config: DemoConfig, encryptionKeys: string): LagrelloModuleOptions => ({
  storage: config.database.kind === "postgres" ? { postgres: config.database.url } : { sqlite: config.database.path },
  mail:
    config.mail.kind === "smtp"
      ? { smtp: { url: config.mail.url, from: config.mail.from } }
      : { development: true },
  encryptionKeys,
  // The core's lines in the demo's JSON format.
  logger: effectLogger,
  // Spans and metrics: OTLP/HTTP export when configured, /metrics with LAGRELLO_METRICS=1.
  ...(config.telemetry.otlp === undefined && !config.telemetry.prometheus
    ? {}
    : { telemetry: { otlp: config.telemetry.otlp, prometheus: config.telemetry.prometheus } }),
  // Links in answers (the token list's paging) are absolute under the demo's address.
  publicUrl: config.publicUrl,
  // The demo's own tenant; without LAGRELLO_ACCESS_TOKEN its first start generates the token, and
  // without LAGRELLO_CALLBACK_URL TenantBootstrap decides whether the default URL applies.
  bootstrap: {
    tenantName: config.tenantName,
    accessToken: config.accessToken,
    callbackUrl: config.callbackUrl === defaultCallbackUrl(config.publicUrl) ? undefined : config.callbackUrl
  }
})

@Module({})
export class AppModule {
  static forConfig(config: DemoConfig, encryptionKeys: string): DynamicModule {
    return {
      module: AppModule,
      imports: [LagrelloModule.forRoot(lagrelloOptions(config, encryptionKeys))],
      controllers: [
        HealthController,
        OpenApiController,
        LoginController,
        ...(config.devMailbox.served ? [MailboxController] : []),
        ...webControllers
      ],
      providers: [
        { provide: DEMO_CONFIG, useValue: config },
        { provide: APP_FILTER, useClass: DemoExceptionFilter },
        TenantBootstrap,
        ...webProviders
      ]
    }
  }
}
