/**
 * Requests that Node's HTTP parser refuses before any framework sees them (headers over the
 * 16 KB limit, malformed request lines, timeouts) are answered in the v1 error shape too: a
 * `400 {"errorType":"InvalidPayload","message":...}`, like the bodies the module refuses.
 */
import type { Duplex } from "node:stream"
import { writeLog } from "../logger.js"

const messageOf = (code: string | undefined): string => {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return "The request headers are too large"
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return "The request did not arrive in time"
    default:
      return "The request is not valid HTTP"
  }
}

// A socket keeps failing while the rest of a refused request arrives: answer it once.
const answered = new WeakSet<Duplex>()

/** A `clientError` listener for Node's HTTP server (Fastify's `clientErrorHandler` option). */
export const answerClientError = (error: Error & { code?: string }, socket: Duplex): void => {
  if (error.code === "ECONNRESET" || socket.destroyed) return
  if (answered.has(socket)) return
  answered.add(socket)
  writeLog("info", "client error", { code: error.code ?? "unknown", status: 400 })
  if (socket.writable) {
    const body = JSON.stringify({ errorType: "InvalidPayload", message: messageOf(error.code) })
    socket.end(
      "HTTP/1.1 400 Bad Request\r\n" +
        "Content-Type: application/json; charset=utf-8\r\n" +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        "Connection: close\r\n\r\n" +
        body
    )
    return
  }
  socket.destroy()
}
