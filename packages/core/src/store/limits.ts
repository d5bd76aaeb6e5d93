/**
 * Rate-limit counters (store/index.ts states the rules all operations follow). They live
 * in the store so that every server instance sharing it counts against one budget: an
 * attacker spreading guesses over N instances gets no N-fold allowance.
 */

/** The running fixed window of one counter. */
export interface RateWindow {
  /** Events counted since the window started. */
  count: number;
  /** When the window ends and the count starts over (ms since the epoch). */
  resetAt: number;
}

/**
 * Fixed-window counters, one round trip per operation: Redis `INCR` with `PEXPIRE … NX`
 * in one script, a SQL upsert that restarts a finished window. Counters only slow
 * attackers down, so a store may forget them early (restart, eviction) but never counts
 * an event twice or in a window that has ended.
 */
export interface RateLimitStore {
  /** The window of `key` running at `now`, or `null` when none runs. Counts nothing. */
  peek(key: string, now: number): Promise<RateWindow | null>;
  /**
   * Counts one event under `key` and returns the window afterwards; a window of
   * `windowMs` starts at `now` when none runs.
   */
  hit(key: string, windowMs: number, now: number): Promise<RateWindow>;
  /** Takes back one event counted under `key`; nothing when no window runs or it counts 0. */
  takeBack(key: string, now: number): Promise<void>;
  /** Forgets windows that ended before `before`; returns how many (0 where they expire by themselves). */
  purge(before: number): Promise<number>;
}
