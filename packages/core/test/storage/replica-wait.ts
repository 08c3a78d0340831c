/**
 * Waiting, on the TestClock, for a long poll that another replica's poll must wake: the test
 * time goes forward one poll interval at a time, and between steps the database's answers (real
 * I/O, which the TestClock does not drive) get up to two seconds of real time to arrive. Answers
 * how much test time it took.
 */
import { Duration, Effect, Fiber, Option, TestClock } from "effect"
import { handoffPollMillis } from "../../src/storage/handoffWatch.js"

const realPause = (millis: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

export const answeredWithinPolls = <A, E>(fiber: Fiber.Fiber<A, E>, polls = 4) =>
  Effect.gen(function* () {
    for (let i = 1; i <= polls; i++) {
      yield* TestClock.adjust(Duration.millis(handoffPollMillis))
      const answer = yield* Effect.raceFirst(
        Effect.map(Fiber.join(fiber), Option.some),
        Effect.as(realPause(2000), Option.none<A>())
      )
      if (Option.isSome(answer)) return { answer: answer.value, testMillis: i * handoffPollMillis }
    }
    return yield* Effect.dieMessage(`the long poll was not answered within ${polls} poll intervals`)
  })
