import type { RateWindow } from "@prolong/core";

/** A budget: at most `max` counted events per window of `windowSeconds`. */
export type RateLimitConfig = { max: number; windowSeconds: number };

/** Seconds a caller should wait (for `Retry-After`) until `window` ends; at least 1. */
export function secondsUntilReset(window: RateWindow, now: number): number {
  return Math.max(1, Math.ceil((window.resetAt - now) / 1000));
}

/** The wait `window` imposes when it has used up `limit`; 0 when there is room. */
export function waitFor(window: RateWindow | null, limit: RateLimitConfig, now: number): number {
  return window !== null && window.count >= limit.max ? secondsUntilReset(window, now) : 0;
}
