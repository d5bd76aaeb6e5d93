import type { ReplayStore } from "@prolong/core";
import type { PostgresDatabase } from "./database.js";

/**
 * Single-use claims on PostgreSQL, shared by every instance on one database. A claim is
 * one upsert that takes the key only when it is free or its claim has expired: racing
 * claims queue on the row lock of `ON CONFLICT DO UPDATE`, and each after the first finds
 * the claim the first committed, so exactly one gets a row back.
 */
export class PostgresReplayStore implements ReplayStore {
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  async claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    const rows = await this.#db.query(
      `INSERT INTO replay_claims AS c (key, expires_at) VALUES ($1, $2)
        ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE c.expires_at <= $3
        RETURNING 1 AS claimed`,
      [key, expiresAt, now],
    );
    return rows.length === 1;
  }

  async purge(now: number): Promise<number> {
    return this.#db.run("DELETE FROM replay_claims WHERE expires_at <= $1", [now]);
  }
}
