// Baseline: a bare NestJS app on the Fastify adapter (the demo's default; ADAPTER=express for Express)
// answering a fixed JSON.
// Decorators applied by hand (plain ESM). PORT, HOST from the environment.
import "reflect-metadata"
import { Controller, Get, Module } from "@nestjs/common"
import { NestFactory } from "@nestjs/core"

class HelloController {
  hello() {
    return { userId: "alice", email: "alice@example.com" }
  }
}
Get("hello")(HelloController.prototype, "hello", Object.getOwnPropertyDescriptor(HelloController.prototype, "hello"))
Controller()(HelloController)
class AppModule {}
Module({ controllers: [HelloController] })(AppModule)

const adapter =
  process.env.ADAPTER === "express"
    ? new (await import("@nestjs/platform-express")).ExpressAdapter()
    : new (await import("@nestjs/platform-fastify")).FastifyAdapter()
const app = await NestFactory.create(AppModule, adapter, { logger: false })
await app.listen(Number(process.env.PORT), process.env.HOST ?? "127.0.0.1")
process.stdout.write("listening\n")
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)))
