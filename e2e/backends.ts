import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
  /** A fresh store; on a database server, one the whole run shares. */
  store(): Promise<BackendStore>;
  /** A fresh store on a server of its own; absent where there is no server to stop (SQLite). */
  stoppable?(): Promise<StoppableStore>;
}

const sqlite: Backend = {
  name: "sqlite",
  async store() {
    const dir = mkdtempSync(join(tmpdir(), "prolong-shared-sqlite-"));
    return {
      spec: `sqlite:${join(dir, "prolong.db")}`,
      close: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

/** Every store several instances can share, as the scale-out tests run them. */
export const backends: readonly Backend[] = [sqlite];
