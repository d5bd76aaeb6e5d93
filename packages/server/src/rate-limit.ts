import type { RateLimitConfig } from "./config.js";

/**
 * Fixed-window counters in memory. One instance per server process; a shared
 * limiter (Redis) can replace it behind the same `hit` signature when several
 * instances share the work.
 */
export class RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();
  readonly #now: () => number;
  #lastSweep = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Counts one attempt under `key`; returns seconds to wait when over the limit, else 0. */
  hit(key: string, limit: RateLimitConfig): number {
    const now = this.#now();
    const windowMs = limit.windowSeconds * 1000;
    this.#sweep(now, windowMs);
    let window = this.#windows.get(key);
    if (!window || now - window.start >= windowMs) {
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    window.count += 1;
    if (window.count <= limit.max) return 0;
    return Math.max(1, Math.ceil((window.start + windowMs - now) / 1000));
  }

  /** Drops finished windows now and then, so memory stays bounded by recent callers. */
  #sweep(now: number, windowMs: number): void {
    if (now - this.#lastSweep < windowMs) return;
    this.#lastSweep = now;
    for (const [key, window] of this.#windows) if (now - window.start >= windowMs) this.#windows.delete(key);
  }
}
