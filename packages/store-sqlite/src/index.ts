import type {
  AccountStore,
  AuditLog,
  KeyStore,
  RateLimitStore,
  ReplayStore,
  SessionStore,
  Store,
} from "@prolong/core";
import type Database from "better-sqlite3";
import { SqliteAccountStore } from "./accounts.js";
import { SqliteAuditLog } from "./audit.js";
import { busyTimeoutOf, openDatabase } from "./database.js";
import { SqliteKeyStore } from "./keys.js";
import { SqliteRateLimitStore } from "./limits.js";
import { type Attempt, waitingForLocks } from "./lock-wait.js";
import type { SqliteStoreOptions } from "./options.js";
import { SqliteReplayStore } from "./replay.js";
import { SqliteSessionStore } from "./sessions.js";
import { guardStatements } from "./unavailable.js";

export type { SqliteStoreOptions } from "./options.js";

/**
 * The embedded store on SQLite (better-sqlite3): every concern on one database file and
 * one connection. WAL lets readers run beside the one writer; every read-modify-write
 * runs in a `BEGIN IMMEDIATE` transaction, so several processes sharing the file still
 * settle races in the database. An operation that meets another connection's lock waits
 * for it on timers (lock-wait.ts), up to `busyTimeout`, never blocking the event loop.
 */
export class SqliteStore implements Store {
  // Typed by their contracts, and the connection private, so the published types never
  // name the driver's: a consumer need not install @types/better-sqlite3 to type-check.
  readonly sessions: SessionStore;
  readonly accounts: AccountStore;
  readonly keys: KeyStore;
  readonly audit: AuditLog;
  readonly limits: RateLimitStore;
  readonly replay: ReplayStore;
  readonly #db: Database.Database;
  readonly #heartbeat;
  readonly #attempt: Attempt;

  constructor(options: SqliteStoreOptions) {
    const db = openDatabase(options);
    this.#db = db;
    const attempt = waitingForLocks(db, busyTimeoutOf(options));
    this.#attempt = attempt;
    this.sessions = new SqliteSessionStore(db, attempt);
    this.accounts = new SqliteAccountStore(db, attempt);
    this.keys = new SqliteKeyStore(db, attempt);
    this.audit = new SqliteAuditLog(db, attempt);
    this.limits = new SqliteRateLimitStore(db, attempt);
    this.replay = new SqliteReplayStore(db, attempt);
    // A committed write, so readiness fails when writes do (the store contract, `ping`).
    this.#heartbeat = guardStatements(db, {
      beat: db.prepare(
        "INSERT INTO heartbeat (id, beats) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET beats = beats + 1",
      ),
    }).beat;
  }

  async ping(): Promise<void> {
    await this.#attempt(() => this.#heartbeat.run());
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

/** Opens (creating on first use) the SQLite store at `options.path`. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}
