/**
 * Helpers shared by the PostgreSQL end-to-end tests: the v1 error shape, and polling with a
 * deadline (never a fixed sleep to wait for a condition).
 */
import { expect } from "vitest"
import type { Answer } from "./server.js"

/** The answer is `status` with the v1 error body `{errorType, message}` and nothing else. */
export const expectError = (answer: Answer, status: number, errorType: string) => {
  expect(answer.status, answer.text).toBe(status)
  expect(answer.headers.get("content-type")).toMatch(/^application\/json/)
  expect(answer.json).toEqual({ errorType, message: expect.any(String) })
  expect(Object.keys(answer.json as object)).toEqual(["errorType", "message"])
  expect((answer.json as { message: string }).message.length).toBeGreaterThan(0)
}

/** Polls `check` until it answers true, every `everyMillis`, for at most `millis`; throws with `what` otherwise. */
export const eventually = async (what: string, check: () => Promise<boolean>, millis = 10_000, everyMillis = 50) => {
  const deadline = Date.now() + millis
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${millis} ms`)
    await new Promise((r) => setTimeout(r, everyMillis))
  }
}

/** The magic-link token in a mail sent with the callback URL `.../magic/{}`. */
export const magicTokenOf = (body: string): string => {
  const token = /\/magic\/([A-Za-z0-9_-]{43})/.exec(body)?.[1]
  if (token === undefined) throw new Error("No magic link in the message")
  return token
}
