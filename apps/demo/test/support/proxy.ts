/** The TCP proxy that plays the network to PostgreSQL, written once in the core's test support. */
export { startProxy } from "../../../../packages/core/test/support/proxy.js"
export type { TcpProxy } from "../../../../packages/core/test/support/proxy.js"
