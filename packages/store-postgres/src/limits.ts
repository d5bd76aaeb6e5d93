import type { RateLimitStore, RateWindow } from "@prolong/core";
import type { PostgresDatabase } from "./database.js";

interface WindowRow extends Record<string, unknown> {
  count: number;
  reset_at: number;
}

/**
 * Rate-limit counters on PostgreSQL, so every instance on one database counts against one
 * budget. A hit is one upsert that restarts a finished window: the row lock of
 * `ON CONFLICT DO UPDATE` serialises racing hits, and each sees the count the previous
 * one left, so none is lost or counted twice.
 */
export class PostgresRateLimitStore implements RateLimitStore {
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  async peek(key: string, now: number): Promise<RateWindow | null> {
    const [row] = await this.#db.query<WindowRow>(
      "SELECT count, reset_at FROM rate_windows WHERE key = $1 AND reset_at > $2",
      [key, now],
    );
    return row ? { count: row.count, resetAt: row.reset_at } : null;
  }

  async hit(key: string, windowMs: number, now: number): Promise<RateWindow> {
    const [row] = await this.#db.query<WindowRow>(
      `INSERT INTO rate_windows AS w (key, count, reset_at) VALUES ($1, 1, $2::bigint + $3::bigint)
        ON CONFLICT (key) DO UPDATE SET
          count    = CASE WHEN w.reset_at > $2::bigint THEN w.count + 1 ELSE 1 END,
          reset_at = CASE WHEN w.reset_at > $2::bigint THEN w.reset_at ELSE EXCLUDED.reset_at END
        RETURNING count, reset_at`,
      [key, now, windowMs],
    );
    if (!row) throw new Error("the rate-limit upsert returned no row");
    return { count: row.count, resetAt: row.reset_at };
  }

  async takeBack(key: string, now: number): Promise<void> {
    await this.#db.run(
      "UPDATE rate_windows SET count = count - 1 WHERE key = $1 AND reset_at > $2 AND count > 0",
      [key, now],
    );
  }

  async purge(before: number): Promise<number> {
    return this.#db.run("DELETE FROM rate_windows WHERE reset_at < $1", [before]);
  }
}
