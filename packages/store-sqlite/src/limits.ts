import type { RateLimitStore, RateWindow } from "@prolong/core";
import type Database from "better-sqlite3";
import type { Attempt } from "./lock-wait.js";
import { guardStatements } from "./unavailable.js";

/**
 * Rate-limit counters on SQLite, so every process on one database file counts against
 * one budget. A hit is one upsert that restarts a finished window, so it never races.
 */
export class SqliteRateLimitStore implements RateLimitStore {
  readonly #s;
  readonly #attempt: Attempt;

  constructor(db: Database.Database, attempt: Attempt) {
    this.#attempt = attempt;
    this.#s = guardStatements(db, {
      peek: db.prepare("SELECT count, reset_at FROM rate_windows WHERE key = ? AND reset_at > ?"),
      hit: db.prepare(`INSERT INTO rate_windows (key, count, reset_at) VALUES (:key, 1, :now + :window)
        ON CONFLICT (key) DO UPDATE SET
          count    = CASE WHEN reset_at > :now THEN count + 1 ELSE 1 END,
          reset_at = CASE WHEN reset_at > :now THEN reset_at ELSE :now + :window END
        RETURNING count, reset_at`),
      takeBack: db.prepare(
        "UPDATE rate_windows SET count = count - 1 WHERE key = ? AND reset_at > ? AND count > 0",
      ),
      purge: db.prepare("DELETE FROM rate_windows WHERE reset_at < ?"),
    });
  }

  async peek(key: string, now: number): Promise<RateWindow | null> {
    const row = (await this.#attempt(() => this.#s.peek.get(key, now))) as
      | { count: number; reset_at: number }
      | undefined;
    return row ? { count: row.count, resetAt: row.reset_at } : null;
  }

  async hit(key: string, windowMs: number, now: number): Promise<RateWindow> {
    const row = (await this.#attempt(() => this.#s.hit.get({ key, now, window: windowMs }))) as {
      count: number;
      reset_at: number;
    };
    return { count: row.count, resetAt: row.reset_at };
  }

  async takeBack(key: string, now: number): Promise<void> {
    await this.#attempt(() => this.#s.takeBack.run(key, now));
  }

  async purge(before: number): Promise<number> {
    return this.#attempt(() => this.#s.purge.run(before).changes);
  }
}
