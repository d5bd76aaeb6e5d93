import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPostgresServer } from "../testing/postgres-server.js";
import { startRedisServer } from "../testing/redis-server.js";
import type { SystemProgramName } from "../testing/system-programs.js";

/** A store a server process can be pointed at with `--store`, fresh for one test file. */
export interface BackendStore {
  /** The `--store` value. */
  spec: string;
  /** Removes what the store kept. */
  close(): Promise<void>;
}

/** A store on a server of its own, which a test may take down and bring back. */
export interface StoppableStore extends BackendStore {
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A kind of store that several server processes can share. */
export interface Backend {
  name: string;
  /**
   * What its server needs on this machine: the test tags of a suite on it, so the suite is
   * skipped (and counted) where the program is missing (testing/system-programs.ts).
   */
  needs: SystemProgramName[];
  /** Whether `prolong migrate` must run before a server may start on a new store. */
  needsMigration: boolean;
  /** A fresh store (on a database server of its own). */
  store(): Promise<BackendStore>;
  /** The same, on a server a test may stop; absent where there is none to stop (SQLite). */
  stoppable?(): Promise<StoppableStore>;
}

const sqlite: Backend = {
  name: "sqlite",
  needs: [],
  needsMigration: false,
  async store() {
    const dir = mkdtempSync(join(tmpdir(), "prolong-shared-sqlite-"));
    return {
      spec: `sqlite:${join(dir, "prolong.db")}`,
      close: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

async function postgresStore(): Promise<StoppableStore> {
  const server = await startPostgresServer();
  return {
    spec: `${server.url}?schema=prolong`,
    stop: () => server.stop(),
    start: () => server.start(),
    close: () => server.close(),
  };
}

const postgres: Backend = {
  name: "postgres",
  needs: ["postgres"],
  needsMigration: true,
  store: postgresStore,
  stoppable: postgresStore,
};

/** Durable, as docs/scale-out.md asks of production: a restart keeps every session. */
async function redisStore(): Promise<StoppableStore> {
  const server = await startRedisServer({ durable: true });
  return {
    spec: server.url,
    stop: () => server.stop(),
    start: () => server.start(),
    close: () => server.close(),
  };
}

const redis: Backend = {
  name: "redis",
  needs: ["redis-server"],
  needsMigration: false,
  store: redisStore,
  stoppable: redisStore,
};

/** Every store several instances can share, as the scale-out tests run them. */
export const backends: readonly Backend[] = [sqlite, postgres, redis];
