/** Timers, injectable so tests drive time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Longest single wait. Browsers throttle or freeze timers in hidden tabs and during
 * sleep, and setTimeout overflows past 2^31-1 ms; waking up often and comparing the
 * wall clock keeps a deadline honest whatever happened in between.
 */
export const MAX_WAIT_MS = 15_000;

/** A deadline: `set(at, fire)` calls `fire` once the wall clock reaches `at`. */
export interface Deadline {
  set(at: number, fire: () => void): void;
  /** Re-reads the clock now (after wake-up, visibility change, going online). */
  check(): void;
  clear(): void;
}

/** A deadline on `timers` and the clock `now`, checked at least every MAX_WAIT_MS. */
export function deadline(timers: Timers, now: () => number): Deadline {
  let handle: unknown = null;
  let at = Infinity;
  let fire = () => {};
  const cancel = () => {
    if (handle !== null) timers.clearTimeout(handle);
    handle = null;
  };
  const check = () => {
    cancel();
    if (!Number.isFinite(at)) return;
    const wait = at - now();
    if (wait <= 0) {
      at = Infinity;
      fire();
      return;
    }
    handle = timers.setTimeout(check, Math.min(wait, MAX_WAIT_MS));
  };
  return {
    set(when, then) {
      at = when;
      fire = then;
      check();
    },
    check,
    clear() {
      cancel();
      at = Infinity;
    },
  };
}
