import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runStoreConformance, type StoreUnderTest } from "@prolong/store-conformance";
import { openSqliteStore } from "@prolong/store-sqlite";
import { holdSqliteWriteLock } from "../../../testing/sqlite-lock.js";

/** Where each store under test keeps its file, so a second process can lock it. */
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
    // Another connection to the same file, as a second server process opens it.
    openPeer: async (store: StoreUnderTest) =>
      openSqliteStore({ path: files.get(store) as string, busyTimeout: 2000 }),
    // An outage as production meets it: a second process holds the write lock.
    blockWrites: async (store: StoreUnderTest) => {
      const lock = await holdSqliteWriteLock(files.get(store) as string);
      return async () => {
        await lock.release();
      };
    },
  },
);
