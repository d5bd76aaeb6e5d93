import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runStoreConformance } from "@prolong/store-conformance";
import { openSqliteStore } from "@prolong/store-sqlite";

// A real database file per test, in a fresh directory, as production uses it.
runStoreConformance(
  "sqlite",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "prolong-sqlite-"));
    return {
      store: openSqliteStore({ path: join(dir, "prolong.db") }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  { modelRuns: 40 },
);
