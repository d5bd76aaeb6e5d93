import type { RateLimitStore, RateWindow } from "@prolong/core";

/**
 * Counters in this process's memory: right for one server process. Memory is bounded
 * twice over: finished windows are swept, and past `maxKeys` live counters the oldest
 * window is dropped, so a flood of new keys costs a bounded amount of memory (at worst
 * it makes the server forget the oldest counters early, never remember too much).
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #windows = new Map<string, RateWindow>();
  readonly #maxKeys: number;
  #nextSweep = 0;

  constructor(options: { maxKeys?: number } = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  /** How many counters are held now (for tests of the memory bound). */
  get size(): number {
    return this.#windows.size;
  }

  async peek(key: string, now: number): Promise<RateWindow | null> {
    const window = this.#windows.get(key);
    if (!window || window.resetAt <= now) return null;
    return { ...window };
  }

  async hit(key: string, windowMs: number, now: number): Promise<RateWindow> {
    this.#sweep(now);
    let window = this.#windows.get(key);
    if (!window || window.resetAt <= now) {
      // Re-inserted, so the map's order stays the order in which windows started.
      this.#windows.delete(key);
      window = { count: 0, resetAt: now + windowMs };
      this.#windows.set(key, window);
      while (this.#windows.size > this.#maxKeys) {
        const oldest = this.#windows.keys().next().value as string;
        this.#windows.delete(oldest);
      }
    }
    window.count += 1;
    return { ...window };
  }

  async takeBack(key: string, now: number): Promise<void> {
    const window = this.#windows.get(key);
    if (window && window.resetAt > now && window.count > 0) window.count -= 1;
  }

  async purge(before: number): Promise<number> {
    let purged = 0;
    for (const [key, window] of this.#windows) {
      if (window.resetAt < before) {
        this.#windows.delete(key);
        purged += 1;
      }
    }
    return purged;
  }

  /** Drops finished windows about once a second, so idle keys do not pile up. */
  #sweep(now: number): void {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + 1000;
    for (const [key, window] of this.#windows) if (window.resetAt <= now) this.#windows.delete(key);
  }
}
