/**
 * The stores every engine and server suite runs against. vitest.config.ts makes one
 * project per kind `PROLONG_TEST_STORES` selects (as Kysely runs its suite once per
 * dialect) and hands the kind to the project's test files as `PROLONG_TEST_STORE`;
 * `testStore()` in testing/suite.ts opens a fresh store of that kind per test (the
 * fixtures of packages/core/test and packages/server/test take their stores from it).
 *
 * `PROLONG_TEST_STORES=sqlite npx vitest run packages/core` runs them on SQLite only.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Store } from "@prolong/core";
import { MemoryStore } from "@prolong/store-memory";
import { openSqliteStore } from "@prolong/store-sqlite";
import { inject } from "vitest";
import { openPostgresTestStore } from "./postgres-server.js";
import { openRedisTestStore } from "./redis-server.js";
import type { SystemProgramName } from "./system-programs.js";

/** Every kind of store the tests can open, in the order suites run them. */
export const storeKinds = ["memory", "sqlite", "postgres", "redis"] as const;

export type StoreKind = (typeof storeKinds)[number];

/** The program a kind's server runs on (testing/system-programs.ts); the others need none. */
export const storePrograms: Readonly<Partial<Record<StoreKind, SystemProgramName>>> = {
  postgres: "postgres",
  redis: "redis-server",
};

/** A fresh store for one test; `close` also deletes whatever it kept on disk. */
export type TestStore = Store & {
  readonly kind: StoreKind;
  /** The SQLite file, for a test that locks it or starts a server process on it; `null` otherwise. */
  readonly path: string | null;
};

function isStoreKind(value: string): value is StoreKind {
  return (storeKinds as readonly string[]).includes(value);
}

/** The kinds `PROLONG_TEST_STORES` selects; see {@link parseStoreKinds}. */
export function testStores(): StoreKind[] {
  return parseStoreKinds(process.env.PROLONG_TEST_STORES);
}

/**
 * The kinds a comma-separated `selection` names, in order, once each; every kind when it
 * is unset or empty. An unknown kind is an error naming it and the valid ones, so a typo
 * never silently runs nothing.
 */
export function parseStoreKinds(selection: string | undefined): StoreKind[] {
  const names = (selection ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0) return [...storeKinds];
  const kinds: StoreKind[] = [];
  for (const name of names) {
    if (!isStoreKind(name)) {
      throw new Error(
        `PROLONG_TEST_STORES: unknown store kind "${name}"; the kinds are ${storeKinds.join(", ")}`,
      );
    }
    if (!kinds.includes(name)) kinds.push(name);
  }
  return kinds;
}

/**
 * A new, empty store of `kind`. SQLite: a file in a fresh temporary directory, removed on
 * close. PostgreSQL: a fresh schema on the project's server (testing/services-setup.ts),
 * dropped on close. Redis: a fresh key prefix on the project's server, its keys deleted on close.
 */
export async function openTestStore(kind: StoreKind): Promise<TestStore> {
  switch (kind) {
    case "memory":
      return testStore(new MemoryStore(), kind, null, async () => {});
    case "sqlite": {
      const dir = mkdtempSync(join(tmpdir(), "prolong-test-"));
      const path = join(dir, "prolong.db");
      // A short busy timeout, so a write that meets another connection's lock fails
      // within the test instead of after the production default of five seconds.
      const store = openSqliteStore({ path, busyTimeout: 1000 });
      return testStore(store, kind, path, async () => rmSync(dir, { recursive: true, force: true }));
    }
    case "postgres": {
      // A short statement timeout, so a test that meets a lock fails within the test.
      const { store, cleanup } = await openPostgresTestStore(
        { url: inject("postgresUrl") },
        { statementTimeout: 2000 },
      );
      return testStore(store, kind, null, cleanup);
    }
    case "redis": {
      const { store, cleanup } = await openRedisTestStore({ url: inject("redisUrl") });
      return testStore(store, kind, null, cleanup);
    }
  }
}

function testStore(
  store: Store,
  kind: StoreKind,
  path: string | null,
  cleanup: () => Promise<void>,
): TestStore {
  return {
    kind,
    path,
    sessions: store.sessions,
    accounts: store.accounts,
    keys: store.keys,
    audit: store.audit,
    limits: store.limits,
    replay: store.replay,
    ping: () => store.ping(),
    close: async () => {
      try {
        await store.close();
      } finally {
        await cleanup();
      }
    },
  };
}
