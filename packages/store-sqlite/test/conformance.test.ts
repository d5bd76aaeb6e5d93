import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runStoreConformance, type StoreUnderTest } from "@prolong/store-conformance";
import { openSqliteStore } from "@prolong/store-sqlite";
import Database from "better-sqlite3";

/** Where each store under test keeps its file, so a second connection can lock it. */
const files = new WeakMap<StoreUnderTest, string>();

// A real database file per test, in a fresh directory, as production uses it. A short
// busy timeout, so a write that meets another connection's lock gives up quickly.
runStoreConformance(
  "sqlite",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-sqlite-"));
    const path = join(dir, "prolong.db");
    const store = openSqliteStore({ path, busyTimeout: 100 });
    files.set(store, path);
    return {
      store,
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  {
    modelRuns: 40,
    // An outage as production meets it: a second connection holds the write lock.
    blockWrites: async (store: StoreUnderTest) => {
      const other = new Database(files.get(store) as string);
      other.exec("BEGIN IMMEDIATE");
      return async () => {
        other.exec("COMMIT");
        other.close();
      };
    },
  },
);
