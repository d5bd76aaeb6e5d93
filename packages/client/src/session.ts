/**
 * The session's decisions, apart from what carries them out: when to renew, what the
 * refresh loop does next, how long it backs off, and what a token answer does to the
 * session. Plain data in, plain data out: no timers, no requests, no events.
 */
import { type AccessTokenClaims, EARLIEST_RENEWAL } from "@prolong/protocol";
import type { TokenOutcome } from "./token-endpoint.js";

/**
 * Server time (ms) to renew: `rfa`, or `lead` before `exp` if earlier, then up to
 * `jitter` sooner, never before EARLIEST_RENEWAL of the token's life (the server sizes its
 * refresh budget on that). The jitter applies to whichever bound decides, so clients
 * whose tokens were issued in one second (a deploy, a morning rush) renew over `jitter`
 * seconds instead of in one burst.
 */
export function renewAt(claims: AccessTokenClaims, leadMs: number, jitterMs: number): number {
  const exp = claims.exp * 1000;
  const iat = claims.iat * 1000;
  const rfa = claims.rfa !== undefined ? claims.rfa * 1000 : Infinity;
  return Math.max(Math.min(exp - leadMs, rfa) - jitterMs, iat + (exp - iat) * EARLIEST_RENEWAL);
}

/**
 * What the refresh loop does now, given the end of its backoff (`notBefore`, 0 for none):
 * `attempt`; `wait` out the backoff while the token is still valid (callers wait with it);
 * or, once it has expired and there is nothing to give callers, `defer` the next attempt
 * to the end of the backoff and answer them at once.
 */
export function nextStep(notBefore: number, now: number, expired: boolean): "attempt" | "wait" | "defer" {
  if (notBefore <= now) return "attempt";
  return expired ? "defer" : "wait";
}

/**
 * When the next attempt may go after the `failures`-th failure in a row (from 0):
 * exponential backoff with jitter (`random` in [0, 1)) up to `maxDelay`, and never before
 * the server's Retry-After (`retryAfter` ms).
 */
export function backoffUntil(
  failures: number,
  retryAfter: number,
  now: number,
  random: number,
  maxDelay: number,
): number {
  return now + Math.max(Math.min(maxDelay, 500 * 2 ** failures) * (0.5 + random / 2), retryAfter);
}

/**
 * What a token answer does to the session: what it says, except that an answer ending the
 * session speaks of the one held when the request left (`held`); one begun meanwhile
 * (sign-in, handoff, a login's answer, another tab's token: `current`) is let `stand`.
 */
export function settle(
  outcome: TokenOutcome,
  held: string | null,
  current: string | null,
): TokenOutcome | { kind: "stand" } {
  return outcome.kind === "end" && held !== current ? { kind: "stand" } : outcome;
}
