import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { isProlongError, type SessionRecord } from "@prolong/core";
import { openSqliteStore } from "@prolong/store-sqlite";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrations } from "../src/migrations.js";

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

  it("builds the feed's snapshot from the recent end of the changelog, not a scan from its start", async () => {
    const path = join(dir, "prolong.db");
    const store = openSqliteStore({ path });
    // A second connection writes the history, as another process would.
    const db = new Database(path);
    const insert = db.prepare(
      "INSERT INTO revocation_changes (kind, user_id, session_id, at) VALUES ('revoked', 'u1', ?, ?)",
    );
    db.transaction(() => {
      for (let i = 0; i < 5000; i++) insert.run(`old-${i}`, T0 + i);
      insert.run("recent", T0 + 86_400_000);
      // Written after it by a process whose clock lags: old, so left out all the same.
      insert.run("skewed", T0 + 86_399_999);
      insert.run("latest", T0 + 86_400_001);
    })();
    const plan = db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT min(seq) AS seq FROM revocation_changes INDEXED BY revocation_changes_at WHERE at >= ?",
      )
      .all(T0) as { detail: string }[];
    expect(plan.map((p) => p.detail).join(" ")).toMatch(/USING (COVERING )?INDEX revocation_changes_at/);
    const page = await store.readRevocations({ after: null, since: T0 + 86_400_000, limit: 10 });
    expect(page.changes.map((c) => (c.kind === "revoked" ? c.sessionId : ""))).toEqual(["recent", "latest"]);
    const none = await store.readRevocations({ after: null, since: T0 + 86_400_002, limit: 10 });
    expect(none.changes).toEqual([]);
    expect(none.cursor).toBe(page.cursor);
    db.close();
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

  it("upgrades a database of the first schema without losing its revocations or keys", async () => {
    const path = join(dir, "prolong.db");
    const old = new Database(path);
    old.exec(migrations[0] as string);
    old.pragma("user_version = 1");
    old.exec(`
      INSERT INTO users (id, username, token_version, token_version_at, created_at, updated_at)
        VALUES ('u1', 'maryo', 2, ${T0 + 30}, ${T0}, ${T0 + 30}), ('u2', 'other', 0, NULL, ${T0}, ${T0});
      INSERT INTO signing_keys (kid, alg, private_key, public_jwk, created_at, retired_at)
        VALUES ('old', 'EdDSA', '{}', '{}', ${T0}, ${T0 + 5}), ('current', 'EdDSA', '{}', '{}', ${T0 + 5}, NULL);
    `);
    const insert = old.prepare(`INSERT INTO sessions (id, user_id, client_id, created_at, auth_time,
      last_active_at, idle_expires_at, token_version, generation, current_hash, revoked_at, revoked_reason)
      VALUES (?, 'u1', 'web', ${T0}, ${T0}, ${T0}, ${T0 + 86_400_000}, 0, 0, 'h', ?, ?)`);
    insert.run("late", T0 + 40, "logout");
    insert.run("early", T0 + 10, "admin");
    insert.run("live", null, null);
    old.close();

    const store = openSqliteStore({ path });
    expect(pragma(path, "user_version")).toBe(migrations.length);
    const page = await store.readRevocations({ after: null, limit: 10 });
    expect(page.changes.map(({ cursor: _c, ...c }) => c)).toEqual([
      { kind: "revoked", sessionId: "early", userId: "u1", at: T0 + 10 },
      { kind: "version", userId: "u1", version: 2, at: T0 + 30 },
      { kind: "revoked", sessionId: "late", userId: "u1", at: T0 + 40 },
    ]);
    // Every key stored before had signed: active from its creation, or retired.
    expect((await store.listKeys()).map((k) => [k.kid, k.activatedAt, k.retiredAt])).toEqual([
      ["old", T0, T0 + 5],
      ["current", T0 + 5, null],
    ]);
    expect(await store.findUser("u1")).toMatchObject({ tokenVersion: 2, username: "maryo" });
    expect((await store.findSession("live"))?.revokedAt).toBeNull();
    await store.close();
  });

  it("shows a revocation committed through one connection to a reader on another", async () => {
    const path = join(dir, "prolong.db");
    const reader = openSqliteStore({ path });
    const writer = openSqliteStore({ path });
    const start = await reader.readRevocations({ after: null, limit: 10 });
    await writer.createSession(session("s1"));
    await writer.revokeSession("s1", "admin", T0 + 1);
    const page = await reader.readRevocations({ after: start.cursor, limit: 10 });
    expect(page.changes).toEqual([
      { cursor: expect.any(String), kind: "revoked", sessionId: "s1", userId: "u1", at: T0 + 1 },
    ]);
    expect((await reader.readRevocations({ after: page.cursor, limit: 10 })).changes).toEqual([]);
    await reader.close();
    await writer.close();
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
