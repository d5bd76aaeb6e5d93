import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { SqlDialect } from "@prolong/core/sql-rows";
import Database from "better-sqlite3";
import { migrations } from "./migrations.js";
import type { SqliteStoreOptions } from "./options.js";

/** A row as the driver returns it. */
export type Row = Record<string, unknown>;

/**
 * How this store's rows hold what SQLite has no type for: a boolean as the integer 0 or
 * 1, a JSON object as its text. Integers come back as numbers (the driver's default,
 * every stored one being far below 2^53).
 */
export const sqliteColumns: SqlDialect = {
  readBoolean: (value) => value === 1,
  readJson: (value) => JSON.parse(value as string) as Record<string, unknown>,
};

/** `(a, b) VALUES (:a, :b)`: an INSERT of these columns, bound by name from a row object. */
export function insertColumns(columns: readonly string[]): string {
  return `(${columns.join(", ")}) VALUES (${columns.map((column) => `:${column}`).join(", ")})`;
}

/** Applies the migrations this file has not seen yet, each in its own write transaction. */
function migrate(db: Database.Database): void {
  const apply = db.transaction((index: number, sql: string) => {
    // Re-read inside the lock: another process may have migrated meanwhile.
    if ((db.pragma("user_version", { simple: true }) as number) !== index) return;
    db.exec(sql);
    db.pragma(`user_version = ${index + 1}`);
  });
  migrations.forEach((sql, index) => {
    if ((db.pragma("user_version", { simple: true }) as number) <= index) apply.immediate(index, sql);
  });
}

/** How long an operation waits for another connection's lock by default, in ms. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens the database every concern of the store shares: WAL, so readers run beside the
 * one writer; the schema migrated. Opening is synchronous and runs before the store
 * serves anything, so here a migration may wait up to `busyTimeout` for another
 * connection's lock in the driver. After that the connection's busy timeout is zero: a
 * statement that meets a lock fails at once, and the store waits for it on a timer
 * (lock-wait.ts), never with the thread asleep inside SQLite.
 */
export function openDatabase(options: SqliteStoreOptions): Database.Database {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path, { timeout: busyTimeoutOf(options) });
  try {
    db.pragma("journal_mode = WAL");
    // NORMAL is durable across application crashes in WAL mode; only power loss may drop the last commits.
    db.pragma("synchronous = NORMAL");
    migrate(db);
    db.pragma("busy_timeout = 0");
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** The total wait for another connection's lock, in whole ms. */
export function busyTimeoutOf(options: SqliteStoreOptions): number {
  return Math.max(0, Math.trunc(options.busyTimeout ?? DEFAULT_BUSY_TIMEOUT_MS));
}
