import type { RateWindow } from "@prolong/core";

/** A budget: at most `max` counted events per window of `windowSeconds`. */
export type RateLimitConfig = { max: number; windowSeconds: number };

/** Seconds a caller should wait (for `Retry-After`) until `window` ends; at least 1. */
export function secondsUntilReset(window: RateWindow, now: number): number {
  return secondsUntil(window.resetAt, now);
}

/** Seconds (for `Retry-After`) from `now` until the instant `at`; at least 1. */
export function secondsUntil(at: number, now: number): number {
  return Math.max(1, Math.ceil((at - now) / 1000));
}
