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

/** Calls `fire` once the wall clock reaches `at`, checking at least every MAX_WAIT_MS. */
export class Deadline {
  readonly #timers: Timers;
  readonly #now: () => number;
  #handle: unknown = null;
  #at = Number.POSITIVE_INFINITY;
  #fire: () => void = () => {};

  constructor(timers: Timers, now: () => number) {
    this.#timers = timers;
    this.#now = now;
  }

  set(at: number, fire: () => void): void {
    this.#at = at;
    this.#fire = fire;
    this.check();
  }

  /** Re-reads the clock now (after wake-up, visibility change, going online). */
  check(): void {
    this.cancel();
    if (!Number.isFinite(this.#at)) return;
    const wait = this.#at - this.#now();
    if (wait <= 0) {
      this.#at = Number.POSITIVE_INFINITY;
      this.#fire();
      return;
    }
    this.#handle = this.#timers.setTimeout(() => this.check(), Math.min(wait, MAX_WAIT_MS));
  }

  cancel(): void {
    if (this.#handle !== null) this.#timers.clearTimeout(this.#handle);
    this.#handle = null;
  }

  clear(): void {
    this.cancel();
    this.#at = Number.POSITIVE_INFINITY;
  }
}
