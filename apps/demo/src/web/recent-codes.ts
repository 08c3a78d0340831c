/**
 * When the pages last accepted an authenticator code for a user, to tell "already used" apart
 * from "wrong": the core answers both the same way (and must: the API never says which). A
 * person who signs in twice within one 30-second step types the code their app still shows, which
 * was just used: the page then says to wait for the next code instead of calling it wrong.
 *
 * Only what this process accepted is known (a code used through the API, or on another replica,
 * gets the general message, which also mentions waiting). Bounded: entries older than two steps
 * are of no use and dropped; at most `max` users, the oldest first. Lost on restart, harmlessly.
 */
import { Injectable } from "@nestjs/common"

const stepMillis = 30_000
/** The step of the accepted code and the next one (a code one step ahead is accepted too). */
const relevantMillis = 2 * stepMillis
const max = 10_000

@Injectable()
export class RecentCodes {
  private readonly accepted = new Map<string, number>()

  accept(userId: string, now = Date.now()): void {
    this.accepted.delete(userId)
    this.accepted.set(userId, now)
    for (const [key, at] of this.accepted) {
      if (this.accepted.size <= max && at > now - relevantMillis) break
      this.accepted.delete(key)
    }
  }

  /** Whether a code of this user was accepted in this step (or the last one). */
  justUsed(userId: string, now = Date.now()): boolean {
    const at = this.accepted.get(userId)
    return at !== undefined && Math.floor(at / stepMillis) >= Math.floor(now / stepMillis) - 1
  }
}
