import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { isProlongError, type SessionRecord } from "@prolong/core";
import { openSqliteStore } from "@prolong/store-sqlite";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const T0 = Date.UTC(2026, 0, 1);
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "prolong-sqlite-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Reads a PRAGMA of the database file through a connection of its own. */
function pragma(path: string, name: string): unknown {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma(name, { simple: true });
  } finally {
    db.close();
  }
}

function session(id: string): SessionRecord {
  return {
    id,
    userId: "u1",
    clientId: "web",
    deviceName: null,
    userAgent: null,
    ip: null,
    createdAt: T0,
    authTime: T0,
    lastActiveAt: T0,
    idleExpiresAt: T0 + 86_400_000,
    absoluteExpiresAt: null,
    tokenVersion: 0,
    generation: 0,
    currentHash: "h0",
    previousHash: null,
    rotatedAt: null,
    revokedAt: null,
    revokedReason: null,
  };
}

describe("SQLite store", () => {
  it("creates the database file and its directory on first use", async () => {
    const path = join(dir, "nested", "deeper", "prolong.db");
    const store = openSqliteStore({ path });
    await store.ping();
    expect(existsSync(path)).toBe(true);
    expect(pragma(path, "journal_mode")).toBe("wal");
    await store.close();
  });

  it("keeps data across reopening and applies migrations once", async () => {
    const path = join(dir, "prolong.db");
    const first = openSqliteStore({ path });
    const version = pragma(path, "user_version");
    expect(version).toBeGreaterThan(0);
    await first.createSession(session("s1"));
    await first.claimSecret("mac", "v1");
    await first.close();

    const second = openSqliteStore({ path });
    expect(pragma(path, "user_version")).toBe(version);
    expect((await second.findSession("s1"))?.currentHash).toBe("h0");
    expect(await second.claimSecret("mac", "v2")).toBe("v1");
    await second.close();
  });

  it("answers refresh lookups from the primary key, not a table scan", async () => {
    const path = join(dir, "prolong.db");
    const store = openSqliteStore({ path });
    await store.ping();
    const plan = (sql: string) => {
      const db = new Database(path, { readonly: true });
      try {
        return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all("x") as { detail: string }[])
          .map((p) => p.detail)
          .join(" ");
      } finally {
        db.close();
      }
    };
    expect(plan("SELECT * FROM sessions WHERE id = ?")).toMatch(
      /USING INDEX sqlite_autoindex_sessions_1|PRIMARY KEY/,
    );
    expect(plan("SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at DESC")).toMatch(
      /USING INDEX sessions_user/,
    );
    await store.close();
  });

  it("settles rotations racing from several threads on one file: exactly one successor", async () => {
    const path = join(dir, "prolong.db");
    const setup = openSqliteStore({ path });
    await setup.createSession(session("shared"));
    await setup.close();

    const signal = new SharedArrayBuffer(4);
    const request = {
      sessionId: "shared",
      generation: 0,
      presentedHash: "h0",
      successorHash: "h1",
      now: T0 + 1000,
      graceMs: 30_000,
      idleTimeoutMs: 86_400_000,
    };
    const workers = Array.from(
      { length: 4 },
      () =>
        new Worker(new URL("./rotate-worker.mjs", import.meta.url), {
          workerData: { path, request, attempts: 25, signal },
        }),
    );
    const results = workers.map(
      (w) =>
        new Promise<string[]>((resolve, reject) => {
          w.once("message", resolve);
          w.once("error", reject);
        }),
    );
    // Give the workers time to open the file, then release them together.
    await new Promise((r) => setTimeout(r, 300));
    Atomics.store(new Int32Array(signal), 0, 1);
    Atomics.notify(new Int32Array(signal), 0);
    const statuses = (await Promise.all(results)).flat();

    expect(statuses).toHaveLength(100);
    expect(statuses.filter((s) => s === "rotated")).toHaveLength(1);
    expect(statuses.filter((s) => s === "replayed")).toHaveLength(99);
    const check = openSqliteStore({ path });
    expect(await check.findSession("shared")).toMatchObject({
      generation: 1,
      currentHash: "h1",
      revokedAt: null,
    });
    await check.close();
  });

  it("refuses to open a file that is not a database, without touching it", async () => {
    const { writeFileSync, readFileSync } = await import("node:fs");
    const path = join(dir, "not-a-db");
    writeFileSync(path, "precious data that is not SQLite, but long enough to have a header.".repeat(10));
    expect(() => openSqliteStore({ path })).toThrow();
    expect(readFileSync(path, "utf8")).toContain("precious data");
  });
});

describe("SQLite store outages", () => {
  it("reports a closed database as store_unavailable, and a broken constraint as itself", async () => {
    const store = openSqliteStore({ path: join(dir, "prolong.db") });
    await store.createSession(session("s1"));
    // A duplicate id is a bug of the caller, not an outage: it must not become a 503.
    const duplicate = await store.createSession(session("s1")).catch((e: unknown) => e);
    expect(isProlongError(duplicate)).toBe(false);
    expect((duplicate as { code?: string }).code).toMatch(/^SQLITE_CONSTRAINT/);
    await store.close();
    const closed = await store.ping().catch((e: unknown) => e);
    expect(isProlongError(closed, "store_unavailable")).toBe(true);
  });
});
