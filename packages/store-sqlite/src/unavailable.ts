import { ProlongError } from "@prolong/core";
import type Database from "better-sqlite3";

/**
 * Primary SQLite result codes that say the database cannot serve right now, whatever was
 * asked: another connection kept the lock past the busy timeout (BUSY, LOCKED), the disk
 * failed or filled up (IOERR, FULL), the file became read-only or cannot be opened
 * (READONLY, CANTOPEN), the WAL lock protocol or memory gave out (PROTOCOL, NOMEM).
 * Extended codes (`SQLITE_IOERR_WRITE`, `SQLITE_BUSY_SNAPSHOT`, …) start with their primary code.
 */
const UNAVAILABLE = [
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_IOERR",
  "SQLITE_FULL",
  "SQLITE_READONLY",
  "SQLITE_CANTOPEN",
  "SQLITE_PROTOCOL",
  "SQLITE_NOMEM",
];

function sqliteCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? code : null;
}

/** `store_unavailable` for a failure of the database itself; any other error as it was. */
export function classifyFailure(db: Database.Database, error: unknown): unknown {
  const code = sqliteCode(error);
  if (code !== null && UNAVAILABLE.some((primary) => code === primary || code.startsWith(`${primary}_`))) {
    return new ProlongError("store_unavailable", `the SQLite store cannot serve now (${code})`, {
      cause: error,
    });
  }
  if (!db.open) {
    return new ProlongError("store_unavailable", "the SQLite store is closed", { cause: error });
  }
  return error;
}

/** Runs one call into the driver, classifying what it throws. */
export function guard<T>(db: Database.Database, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw classifyFailure(db, error);
  }
}

/** The three calls the store makes on a prepared statement, each guarded. */
export interface GuardedStatement {
  run(...params: unknown[]): Database.RunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/**
 * Wraps every prepared statement, so each operation, and any added later, reports an
 * unusable database as `store_unavailable` (the store contract) rather than a driver error.
 */
export function guardStatements<K extends string>(
  db: Database.Database,
  statements: Record<K, Database.Statement>,
): Record<K, GuardedStatement> {
  const out = {} as Record<K, GuardedStatement>;
  for (const name of Object.keys(statements) as K[]) {
    const statement = statements[name];
    out[name] = {
      run: (...params) => guard(db, () => statement.run(...params)),
      get: (...params) => guard(db, () => statement.get(...params)),
      all: (...params) => guard(db, () => statement.all(...params)),
    };
  }
  return out;
}
