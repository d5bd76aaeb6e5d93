/** A budget: at most `max` counted events per window of `windowSeconds`. */
export type RateLimitConfig = { max: number; windowSeconds: number };

/** The running window of one counter. */
export interface RateWindow {
  /** Events counted since the window started. */
  count: number;
  /** When the window ends and the count starts over (ms since the epoch). */
  resetAt: number;
}

/**
 * Where fixed-window counters live. Three small operations, so a store shared by
 * several server processes can implement each in one round trip: Redis with `INCR`
 * plus `PEXPIRE … NX` (hit), `GET` plus `PTTL` (peek) and a `DECR` only while the key
 * exists (takeBack); PostgreSQL with an upsert that restarts a finished window (hit),
 * a `SELECT` (peek) and a guarded `UPDATE` (takeBack). Counters are hints for slowing
 * attackers, so a store may forget them early (restart, eviction).
 */
export interface RateLimitStore {
  /** The running window of `key`, or `null` when none runs. Counts nothing. */
  peek(key: string): Promise<RateWindow | null>;
  /** Counts one event under `key`, starting a window of `windowSeconds` when none runs. */
  hit(key: string, windowSeconds: number): Promise<RateWindow>;
  /** Takes back one event counted under `key`; nothing once its window has ended. */
  takeBack(key: string): Promise<void>;
}

/** Seconds a caller should wait (for `Retry-After`) until `window` ends; at least 1. */
export function secondsUntilReset(window: RateWindow, now: number): number {
  return Math.max(1, Math.ceil((window.resetAt - now) / 1000));
}

/** The wait `window` imposes when it has used up `limit`; 0 when there is room. */
export function waitFor(window: RateWindow | null, limit: RateLimitConfig, now: number): number {
  return window !== null && window.count >= limit.max ? secondsUntilReset(window, now) : 0;
}

/**
 * Counters in this process's memory: right for one server process. Memory is bounded
 * twice over: finished windows are swept, and past `maxKeys` live counters the oldest
 * window is dropped, so a flood of new keys costs a bounded amount of memory (at worst
 * it makes the server forget the oldest counters early, never remember too much).
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #windows = new Map<string, RateWindow>();
  readonly #now: () => number;
  readonly #maxKeys: number;
  #nextSweep = 0;

  constructor(now: () => number, options: { maxKeys?: number } = {}) {
    this.#now = now;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  /** How many counters are held now (for tests of the memory bound). */
  get size(): number {
    return this.#windows.size;
  }

  async peek(key: string): Promise<RateWindow | null> {
    const window = this.#windows.get(key);
    if (!window || window.resetAt <= this.#now()) return null;
    return { ...window };
  }

  async hit(key: string, windowSeconds: number): Promise<RateWindow> {
    const now = this.#now();
    this.#sweep(now);
    let window = this.#windows.get(key);
    if (!window || window.resetAt <= now) {
      // Re-inserted, so the map's order stays the order in which windows started.
      this.#windows.delete(key);
      window = { count: 0, resetAt: now + windowSeconds * 1000 };
      this.#windows.set(key, window);
      while (this.#windows.size > this.#maxKeys) {
        const oldest = this.#windows.keys().next().value as string;
        this.#windows.delete(oldest);
      }
    }
    window.count += 1;
    return { ...window };
  }

  async takeBack(key: string): Promise<void> {
    const window = this.#windows.get(key);
    if (window && window.resetAt > this.#now() && window.count > 0) window.count -= 1;
  }

  /** Drops finished windows about once a second, so idle keys do not pile up. */
  #sweep(now: number): void {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + 1000;
    for (const [key, window] of this.#windows) if (window.resetAt <= now) this.#windows.delete(key);
  }
}
