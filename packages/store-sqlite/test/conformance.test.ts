import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SessionStore } from "@prolong/core";
import { runStoreConformance } from "@prolong/store-conformance";
import { openSqliteStore, type SqliteStore } from "@prolong/store-sqlite";
import Database from "better-sqlite3";

// A real database file per test, in a fresh directory, as production uses it. A short
// busy timeout, so a write that meets another connection's lock gives up quickly.
runStoreConformance(
  "sqlite",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-sqlite-"));
    return {
      store: openSqliteStore({ path: join(dir, "prolong.db"), busyTimeout: 100 }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  {
    modelRuns: 40,
    // An outage as production meets it: a second connection holds the write lock.
    blockWrites: async (store: SessionStore) => {
      const other = new Database((store as SqliteStore).db.name);
      other.exec("BEGIN IMMEDIATE");
      return async () => {
        other.exec("COMMIT");
        other.close();
      };
    },
  },
);
