import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { migrations } from "./migrations.js";
import type { SqliteStoreOptions } from "./options.js";

/** A row as the driver returns it. */
export type Row = Record<string, unknown>;

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

/**
 * Opens the database every concern of the store shares: WAL, so readers run beside the
 * one writer; a busy timeout, so a write waits for another connection's lock before it
 * gives up; the schema migrated.
 */
export function openDatabase(options: SqliteStoreOptions): Database.Database {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeout ?? 5000)}`);
    // NORMAL is durable across application crashes in WAL mode; only power loss may drop the last commits.
    db.pragma("synchronous = NORMAL");
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
