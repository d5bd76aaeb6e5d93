import type { ReplayStore } from "@prolong/core";
import type Database from "better-sqlite3";
import type { Attempt } from "./lock-wait.js";
import { guardStatements } from "./unavailable.js";

/**
 * Single-use claims on SQLite, shared by every process on the file. A claim is one
 * upsert that takes the key only when it is free or its claim has expired, so of racing
 * claims (any process) exactly one gets a row back.
 */
export class SqliteReplayStore implements ReplayStore {
  readonly #s;
  readonly #attempt: Attempt;

  constructor(db: Database.Database, attempt: Attempt) {
    this.#attempt = attempt;
    this.#s = guardStatements(db, {
      claim: db.prepare(`INSERT INTO replay_claims (key, expires_at) VALUES (:key, :expires_at)
        ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
          WHERE replay_claims.expires_at <= :now
        RETURNING 1 AS claimed`),
      purge: db.prepare("DELETE FROM replay_claims WHERE expires_at <= ?"),
    });
  }

  async claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    const row = await this.#attempt(() => this.#s.claim.get({ key, expires_at: expiresAt, now }));
    return row !== undefined;
  }

  async purge(now: number): Promise<number> {
    return this.#attempt(() => this.#s.purge.run(now).changes);
  }
}
