import { ProlongError, type Store } from "@prolong/core";
import { MemoryStore } from "@prolong/store-memory";
import { openSqliteStore } from "@prolong/store-sqlite";

/**
 * Opens the store a `--store` / `PROLONG_STORE` value names:
 * `sqlite:PATH` (the default, `sqlite:./data/prolong.db`) or `memory:` (lost on exit).
 */
export function openStore(spec: string): Store {
  if (spec.startsWith("sqlite:")) {
    const path = spec.slice("sqlite:".length);
    if (!path)
      throw new ProlongError(
        "invalid_config",
        "store: sqlite: needs a file path, e.g. sqlite:./data/prolong.db",
      );
    try {
      return openSqliteStore({ path });
    } catch (cause) {
      throw new ProlongError(
        "invalid_config",
        `store: cannot open SQLite database at ${path}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
  }
  if (spec === "memory:") return new MemoryStore();
  if (/^(postgres|postgresql|redis|rediss):\/\//.test(spec)) {
    throw new ProlongError(
      "invalid_config",
      `store: ${spec.split(":")[0]} stores are not available in this version; use sqlite:PATH`,
    );
  }
  throw new ProlongError(
    "invalid_config",
    `store: "${spec.split(":")[0]}" is not a known store; use sqlite:PATH`,
  );
}

/**
 * Brings the schema of the store `spec` names up to this version and says what it did.
 * SQLite migrates whenever it is opened, so this only opens it; memory has no schema.
 */
export async function migrateStore(spec: string): Promise<string> {
  if (spec === "memory:") return "memory: has no schema to migrate";
  const store = openStore(spec);
  try {
    await store.ping();
    return `${spec.split(":")[0]} schema is up to date`;
  } finally {
    await store.close();
  }
}
