import { ProlongError } from "@prolong/core";
import type Database from "better-sqlite3";
import { guard } from "./unavailable.js";

/**
 * Runs one unit of store work (one statement, or one whole transaction) and settles it;
 * see {@link waitingForLocks}.
 */
export type Attempt = <T>(work: () => T) => Promise<T>;

/** The first pause after a refused attempt, in ms; each later one doubles, up to {@link LONGEST_PAUSE_MS}. */
const FIRST_PAUSE_MS = 2;
/**
 * The longest pause between attempts, in ms: how late, at most, a waiting operation sees
 * the lock released. A refused attempt costs ~20 µs, so even hundreds of waiting
 * operations polling at this rate leave the event loop nearly idle.
 */
const LONGEST_PAUSE_MS = 50;

/**
 * Another connection holds a lock this work needs: `SQLITE_BUSY` (its write lock; or a
 * WAL recovery, `SQLITE_BUSY_RECOVERY`; or a stale snapshot, `SQLITE_BUSY_SNAPSHOT`) or
 * `SQLITE_LOCKED`. Such work did nothing and may simply run again. The code is read from
 * the driver's error or from the `store_unavailable` a guarded statement made of it.
 */
function isLockConflict(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^SQLITE_(BUSY|LOCKED)(_|$)/.test(code)) return true;
  }
  return false;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The one place the store runs work on a database file that other processes (a second
 * server, the CLI, a backup) may lock. The driver is synchronous and the connection's own
 * busy timeout is zero (database.ts), so an attempt that meets another connection's lock
 * fails at once instead of holding the event loop; it is then tried again after a timer
 * (exponential backoff, jittered so waiting operations and processes do not retry in step)
 * until `maxWaitMs` have passed since the first attempt, and past that rejects with
 * `store_unavailable`. Meanwhile every request that needs no lock (JWKS, metadata, reads
 * in WAL mode) is answered.
 *
 * `work` must be all-or-nothing, as one write statement (after any reads) or one
 * `db.transaction` is: a lock conflict is met before it changed anything (at the write
 * statement, or at `BEGIN IMMEDIATE`), and a transaction that throws is rolled back by
 * the driver, so running it again from the start commits it once and whole. Any other
 * failure is classified as the statements classify it (unavailable.ts) and not retried.
 */
export function waitingForLocks(db: Database.Database, maxWaitMs: number): Attempt {
  return async <T>(work: () => T): Promise<T> => {
    const started = performance.now();
    let next = FIRST_PAUSE_MS;
    for (;;) {
      try {
        return guard(db, work);
      } catch (error) {
        if (!isLockConflict(error)) throw error;
        const waited = performance.now() - started;
        if (waited >= maxWaitMs) {
          throw new ProlongError(
            "store_unavailable",
            `the SQLite store cannot serve now: another connection held the lock for over ${maxWaitMs} ms`,
            { cause: error },
          );
        }
        // Between half and all of the current step, and never past the deadline, so the
        // last attempt runs when the wait is used up.
        await pause(Math.min(next * (0.5 + Math.random() / 2), maxWaitMs - waited));
        next = Math.min(next * 2, LONGEST_PAUSE_MS);
      }
    }
  };
}
