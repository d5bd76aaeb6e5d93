import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { isProlongError, type SessionRecord } from "@prolong/core";
import { sessionRecord } from "@prolong/store-conformance";
import { openSqliteStore } from "@prolong/store-sqlite";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listEventsSql } from "../src/audit.js";
import { openDatabase } from "../src/database.js";
import { migrations } from "../src/migrations.js";
import { listSessionsSql, READ_SESSION_SQL } from "../src/sessions.js";

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

const session = (id: string): SessionRecord =>
  sessionRecord({
    id,
    subjectId: "u1",
    deviceName: null,
    userAgent: null,
    ip: null,
    currentHash: "h0",
    idleExpiresAt: T0 + 86_400_000,
    absoluteExpiresAt: null,
  });

describe("SQLite store", () => {
  it("creates the database file and its directory on first use", async () => {
    const path = join(dir, "nested", "deeper", "prolong.db");
    const store = openSqliteStore({ path });
    await store.ping();
    expect(existsSync(path)).toBe(true);
    expect(pragma(path, "journal_mode")).toBe("wal");
    await store.close();
  });

  it("syncs as docs/scale-out.md says: WAL with synchronous = NORMAL, not SQLite's FULL", () => {
    // `synchronous` holds per connection, so it is read on the kind the store opens
    // (openDatabase), not on a connection of the test's own.
    const db = openDatabase({ path: join(dir, "prolong.db") });
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("synchronous", { simple: true })).toBe(1);
    } finally {
      db.close();
    }
  });

  it("keeps data across reopening and applies migrations once", async () => {
    const path = join(dir, "prolong.db");
    const first = openSqliteStore({ path });
    const version = pragma(path, "user_version");
    expect(version).toBeGreaterThan(0);
    await first.sessions.ensureSubject("u1", T0);
    await first.sessions.createSession(session("s1"));
    await first.keys.claimSecret("mac", "v1");
    await first.close();

    const second = openSqliteStore({ path });
    expect(pragma(path, "user_version")).toBe(version);
    expect((await second.sessions.readSession("s1"))?.session.currentHash).toBe("h0");
    expect(await second.keys.claimSecret("mac", "v2")).toBe("v1");
    await second.close();
  });

  it("answers the hot read from primary keys, and lists from indexes, never a table scan or sort", async () => {
    const path = join(dir, "prolong.db");
    const store = openSqliteStore({ path });
    await store.ping();
    const plan = (sql: string, params: unknown) => {
      const db = new Database(path, { readonly: true });
      try {
        return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[])
          .map((p) => p.detail)
          .join(" | ");
      } finally {
        db.close();
      }
    };
    // The statements the store runs: a refresh reads the session and its subject, each
    // by its primary key, in one statement.
    const hot = plan(READ_SESSION_SQL, "x");
    expect(hot).toMatch(/SEARCH s USING INDEX sqlite_autoindex_sessions_1 \(id=\?\)/);
    expect(hot).toMatch(/SEARCH u USING INDEX sqlite_autoindex_subjects_1 \(id=\?\)/);
    expect(hot).not.toMatch(/SCAN/);
    // A subject's sessions, live or all, of one client or any, paged or not: a range of
    // its index, sorted only within one millisecond (ties by id), never as a whole.
    for (const ended of [false, true]) {
      for (const client of [false, true]) {
        for (const paged of [false, true]) {
          const shape = { ended, client, paged };
          const list = plan(listSessionsSql(shape), {
            subject_id: "u1",
            limit: 10,
            ...(ended ? {} : { now: T0 }),
            ...(client ? { client_id: "web" } : {}),
            ...(paged ? { after_created_at: T0, after_id: "s1" } : {}),
          });
          expect(list, JSON.stringify(shape)).toMatch(/USING INDEX sessions_subject/);
          expect(list, JSON.stringify(shape)).not.toMatch(/SCAN|USE TEMP B-TREE FOR ORDER BY/);
        }
      }
    }
    // Each audit filter pages through its own index, newest first, without sorting.
    const page = { limit: 10, after_at: T0, after_seq: 5 };
    for (const [filter, index, params] of [
      ["subjectId", "events_subject", { subject_id: "u1" }],
      ["sessionId", "events_session", { session_id: "s1" }],
      ["type", "events_type", { type: "signed_in" }],
    ] as const) {
      const events = plan(listEventsSql([filter], true), { ...page, ...params });
      expect(events, filter).toMatch(new RegExp(`USING INDEX ${index}`));
      expect(events, filter).not.toMatch(/TEMP B-TREE/);
    }
    expect(plan(listEventsSql([], false), { limit: 10 })).not.toMatch(/TEMP B-TREE/);
    await store.close();
  });

  it("builds the feed's snapshot from the recent end of the changelog, not a scan from its start", async () => {
    const path = join(dir, "prolong.db");
    const store = openSqliteStore({ path });
    // A second connection writes the history, as another process would.
    const db = new Database(path);
    const insert = db.prepare(
      "INSERT INTO revocation_changes (kind, subject_id, session_id, at) VALUES ('revoked', 'u1', ?, ?)",
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
    const page = await store.sessions.readRevocations({ after: null, since: T0 + 86_400_000, limit: 10 });
    expect(page.changes.map((c) => (c.kind === "revoked" ? c.sessionId : ""))).toEqual(["recent", "latest"]);
    const none = await store.sessions.readRevocations({ after: null, since: T0 + 86_400_002, limit: 10 });
    expect(none.changes).toEqual([]);
    expect(none.cursor).toBe(page.cursor);
    db.close();
    await store.close();
  });

  it("settles rotations racing from several threads on one file: exactly one successor", async () => {
    const path = join(dir, "prolong.db");
    const setup = openSqliteStore({ path });
    await setup.sessions.ensureSubject("u1", T0);
    await setup.sessions.createSession(session("shared"));
    await setup.close();

    const signal = new SharedArrayBuffer(4);
    const request = {
      sessionId: "shared",
      clientId: "web",
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
    expect((await check.sessions.readSession("shared"))?.session).toMatchObject({
      generation: 1,
      currentHash: "h1",
      revokedAt: null,
    });
    await check.close();
  });

  for (const onLimit of ["evict", "refuse"] as const) {
    it(`settles sign-ins racing from several threads on one file under a session limit (${onLimit}): never more than max`, async () => {
      const path = join(dir, "prolong.db");
      const setup = openSqliteStore({ path });
      await setup.sessions.ensureSubject("u1", T0);
      await setup.close();

      const signal = new SharedArrayBuffer(4);
      const limit = { max: 3, clientIds: ["web"], onLimit };
      const workers = Array.from(
        { length: 4 },
        (_, w) =>
          new Worker(new URL("./create-limited-worker.mjs", import.meta.url), {
            workerData: {
              path,
              limit,
              signal,
              sessions: Array.from({ length: 150 }, (_, i) => ({
                ...session(`w${w}-${String(i).padStart(3, "0")}`),
                createdAt: T0 + 1000,
                lastActiveAt: T0 + 1000 + i,
              })),
            },
          }),
      );
      const results = workers.map(
        (w) =>
          new Promise<{ status: string; evicted?: string[] }[]>((resolve, reject) => {
            w.once("message", resolve);
            w.once("error", reject);
          }),
      );
      await new Promise((r) => setTimeout(r, 300));
      Atomics.store(new Int32Array(signal), 0, 1);
      Atomics.notify(new Int32Array(signal), 0);
      const outcomes = (await Promise.all(results)).flat();

      expect(outcomes).toHaveLength(600);
      const check = openSqliteStore({ path });
      expect(await check.sessions.listSessions("u1", T0 + 1000)).toHaveLength(3);
      const feed = await check.sessions.readRevocations({ after: null, limit: 1000 });
      if (onLimit === "refuse") {
        expect(outcomes.filter((o) => o.status === "created")).toHaveLength(3);
        expect(feed.changes).toEqual([]);
      } else {
        const evicted = outcomes.flatMap((o) => o.evicted ?? []);
        expect(new Set(evicted).size).toBe(597);
        expect(feed.changes).toHaveLength(597);
      }
      await check.close();
    });
  }

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
    const page = await store.sessions.readRevocations({ after: null, limit: 10 });
    expect(page.changes.map(({ cursor: _c, ...c }) => c)).toEqual([
      { kind: "revoked", sessionId: "early", subjectId: "u1", at: T0 + 10 },
      { kind: "version", subjectId: "u1", version: 2, at: T0 + 30 },
      { kind: "revoked", sessionId: "late", subjectId: "u1", at: T0 + 40 },
    ]);
    // Every key stored before had signed: active from its creation, or retired.
    expect((await store.keys.listKeys()).map((k) => [k.kid, k.activatedAt, k.retiredAt])).toEqual([
      ["old", T0, T0 + 5],
      ["current", T0 + 5, null],
    ]);
    expect(await store.sessions.findSubject("u1")).toMatchObject({ tokenVersion: 2 });
    expect(await store.accounts.findAccountByName("maryo")).toMatchObject({ subjectId: "u1" });
    expect((await store.sessions.readSession("live"))?.session.revokedAt).toBeNull();
    await store.close();
  });

  it("upgrades a database from before bound sessions: its sessions unbound, claims ready", async () => {
    const path = join(dir, "prolong.db");
    // Version 7, the last before sessions could be bound to a key.
    const previous = 7;
    const old = new Database(path);
    for (const sql of migrations.slice(0, previous)) old.exec(sql);
    old.pragma(`user_version = ${previous}`);
    old.exec(`
      INSERT INTO subjects (id, created_at, updated_at) VALUES ('u1', ${T0}, ${T0});
      INSERT INTO sessions (id, subject_id, client_id, created_at, auth_time, last_active_at,
          idle_expires_at, token_version, generation, current_hash)
        VALUES ('s1', 'u1', 'web', ${T0}, ${T0}, ${T0}, ${T0 + 86_400_000}, 0, 0, 'h0');
    `);
    old.close();

    const store = openSqliteStore({ path });
    expect(pragma(path, "user_version")).toBe(migrations.length);
    expect((await store.sessions.readSession("s1"))?.session).toMatchObject({
      dpopJkt: null,
      deviceKey: null,
    });
    expect(await store.sessions.registerDeviceKey("s1", '{"kty":"EC"}', T0 + 1)).toBe("registered");
    expect(await store.replay.claim("jti", T0 + 60_000, T0)).toBe(true);
    expect(await store.replay.claim("jti", T0 + 60_000, T0)).toBe(false);
    await store.close();
  });

  it("upgrades a database from before session limits and step-up: acr, amr and actor null, step-up works", async () => {
    const path = join(dir, "prolong.db");
    // Version 8, the last before sessions knew their authentication context.
    const previous = 8;
    const old = new Database(path);
    for (const sql of migrations.slice(0, previous)) old.exec(sql);
    old.pragma(`user_version = ${previous}`);
    old.exec(`
      INSERT INTO subjects (id, created_at, updated_at) VALUES ('u1', ${T0}, ${T0});
      INSERT INTO sessions (id, subject_id, client_id, created_at, auth_time, last_active_at,
          idle_expires_at, token_version, generation, current_hash)
        VALUES ('s1', 'u1', 'web', ${T0}, ${T0}, ${T0}, ${T0 + 86_400_000}, 0, 0, 'h0');
    `);
    old.close();

    const store = openSqliteStore({ path });
    expect(pragma(path, "user_version")).toBe(migrations.length);
    expect((await store.sessions.readSession("s1"))?.session).toMatchObject({
      acr: null,
      amr: null,
      actor: null,
    });
    expect(
      await store.sessions.stepUp("s1", { authTime: T0 + 5, acr: "urn:example:mfa", amr: ["otp"] }, T0 + 5),
    ).toMatchObject({
      authTime: T0 + 5,
      acr: "urn:example:mfa",
      amr: ["otp"],
    });
    // The old session counts towards a limit like any other.
    const outcome = await store.sessions.createSession(
      { ...session("s2"), createdAt: T0 + 6 },
      {
        max: 1,
        clientIds: ["web"],
        onLimit: "evict",
      },
    );
    expect(outcome).toEqual({ status: "created", evicted: ["s1"] });
    await store.close();
  });

  it("upgrades a database of the users schema: users become subjects with accounts, nothing lost", async () => {
    const path = join(dir, "prolong.db");
    // Version 3, the last with a users table; migration 4 split it (and later ones run too).
    const previous = 3;
    const old = new Database(path);
    for (const sql of migrations.slice(0, previous)) old.exec(sql);
    old.pragma(`user_version = ${previous}`);
    old.exec(`
      INSERT INTO users (id, username, password_hash, disabled, token_version, reauth_required_at, claims,
          created_at, updated_at)
        VALUES ('u1', 'maryo', 'scrypt$1', 0, 3, ${T0 + 7}, '{"roles":["admin"]}', ${T0}, ${T0 + 9}),
               ('u2', 'luigi', NULL, 1, 0, NULL, '{}', ${T0 + 1}, ${T0 + 2});
      INSERT INTO sessions (id, user_id, client_id, device_name, created_at, auth_time, last_active_at,
          idle_expires_at, absolute_expires_at, token_version, generation, current_hash, previous_hash,
          rotated_at, revoked_at, revoked_reason)
        VALUES ('s1', 'u1', 'web', 'laptop', ${T0}, ${T0}, ${T0 + 5}, ${T0 + 86_400_000}, NULL, 3, 2, 'h2', 'h1',
                ${T0 + 5}, NULL, NULL),
               ('s2', 'u2', 'native', NULL, ${T0}, ${T0}, ${T0}, ${T0 + 86_400_000}, ${T0 + 2 * 86_400_000}, 0,
                0, 'h0', NULL, NULL, ${T0 + 3}, 'user_disabled');
      INSERT INTO revocation_changes (kind, user_id, session_id, version, at)
        VALUES ('revoked', 'u2', 's2', NULL, ${T0 + 3}), ('version', 'u1', NULL, 3, ${T0 + 4});
      INSERT INTO events (id, type, user_id, session_id, at, detail)
        VALUES ('e1', 'signed_in', 'u1', 's1', ${T0}, '{"clientId":"web"}');
    `);
    old.close();

    const store = openSqliteStore({ path });
    expect(pragma(path, "user_version")).toBe(migrations.length);
    const subject = {
      id: "u1",
      disabled: false,
      tokenVersion: 3,
      reauthRequiredAt: T0 + 7,
      claims: { roles: ["admin"] },
      createdAt: T0,
      updatedAt: T0 + 9,
    };
    expect(await store.sessions.findSubject("u1")).toEqual(subject);
    expect(await store.sessions.findSubject("u2")).toMatchObject({ disabled: true, tokenVersion: 0 });
    expect(await store.accounts.listAccounts({ limit: 10 })).toEqual([
      { subjectId: "u2", username: "luigi", passwordHash: null, createdAt: T0 + 1, updatedAt: T0 + 2 },
      { subjectId: "u1", username: "maryo", passwordHash: "scrypt$1", createdAt: T0, updatedAt: T0 + 9 },
    ]);
    expect(await store.sessions.readSession("s1")).toEqual({
      session: {
        ...session("s1"),
        deviceName: "laptop",
        lastActiveAt: T0 + 5,
        tokenVersion: 3,
        generation: 2,
        currentHash: "h2",
        previousHash: "h1",
        rotatedAt: T0 + 5,
      },
      subject,
    });
    expect((await store.sessions.readSession("s2"))?.session).toMatchObject({
      subjectId: "u2",
      revokedReason: "user_disabled",
    });
    // The session still refreshes on the new schema, and its subject comes with it.
    const rotated = await store.sessions.rotate({
      sessionId: "s1",
      clientId: "web",
      generation: 2,
      presentedHash: "h2",
      successorHash: "h3",
      now: T0 + 10,
      graceMs: 30_000,
      idleTimeoutMs: 86_400_000,
    });
    expect(rotated).toMatchObject({ status: "rotated", subject });
    const changes = await store.sessions.readRevocations({ after: null, limit: 10 });
    expect(changes.changes.map(({ cursor: _c, ...c }) => c)).toEqual([
      { kind: "revoked", sessionId: "s2", subjectId: "u2", at: T0 + 3 },
      { kind: "version", subjectId: "u1", version: 3, at: T0 + 4 },
    ]);
    expect((await store.audit.list({ subjectId: "u1", limit: 10 })).events).toEqual([
      { id: "e1", type: "signed_in", subjectId: "u1", sessionId: "s1", at: T0, detail: { clientId: "web" } },
    ]);
    // The old table is gone, so nothing can read a stale copy of a user.
    const db = new Database(path, { readonly: true });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'users'").all()).toEqual([]);
    db.close();
    await store.close();
  });

  it("upgrades a database of version 4 to one that keeps handoffs", async () => {
    const path = join(dir, "prolong.db");
    // Version 4, subjects and accounts, the last before migration 5 added handoffs.
    const old = new Database(path);
    for (const sql of migrations.slice(0, 4)) old.exec(sql);
    old.pragma("user_version = 4");
    old.close();
    const before = openSqliteStore({ path });
    await before.close();
    expect(pragma(path, "user_version")).toBe(migrations.length);

    const store = openSqliteStore({ path });
    const handoff = {
      hash: "h",
      subjectId: "u1",
      clientId: "web",
      deviceName: null,
      tokenVersion: 0,
      acr: null,
      amr: null,
      createdAt: T0,
      expiresAt: T0 + 60_000,
    };
    await store.sessions.putHandoff(handoff);
    expect(await store.sessions.takeHandoff("h", T0 + 1)).toEqual(handoff);
    expect(await store.sessions.takeHandoff("h", T0 + 2)).toBeNull();
    await store.close();
  });

  it("upgrades a database from before handoffs carried acr and amr: a waiting code still redeems, with neither", async () => {
    const path = join(dir, "prolong.db");
    // Version 9, the last before migration 10 gave handoffs acr and amr.
    const previous = 9;
    const old = new Database(path);
    for (const sql of migrations.slice(0, previous)) old.exec(sql);
    old.pragma(`user_version = ${previous}`);
    // A code made by the previous release just before the upgrade, with the columns it knows.
    old.exec(`
      INSERT INTO handoffs (hash, subject_id, client_id, device_name, token_version, created_at, expires_at)
        VALUES ('waiting', 'u1', 'web', NULL, 0, ${T0}, ${T0 + 60_000});
    `);
    old.close();

    const store = openSqliteStore({ path });
    expect(pragma(path, "user_version")).toBe(migrations.length);
    expect(await store.sessions.takeHandoff("waiting", T0 + 1)).toMatchObject({
      hash: "waiting",
      acr: null,
      amr: null,
    });
    const vouched = {
      hash: "vouched",
      subjectId: "u1",
      clientId: "web",
      deviceName: null,
      tokenVersion: 0,
      acr: "urn:example:mfa",
      amr: ["pwd", "otp"],
      createdAt: T0,
      expiresAt: T0 + 60_000,
    };
    await store.sessions.putHandoff(vouched);
    expect(await store.sessions.takeHandoff("vouched", T0 + 1)).toEqual(vouched);
    await store.close();
  });

  it("shows a revocation committed through one connection to a reader on another", async () => {
    const path = join(dir, "prolong.db");
    const reader = openSqliteStore({ path });
    const writer = openSqliteStore({ path });
    const start = await reader.sessions.readRevocations({ after: null, limit: 10 });
    await writer.sessions.ensureSubject("u1", T0);
    await writer.sessions.createSession(session("s1"));
    await writer.sessions.revokeSession("s1", "admin", T0 + 1);
    const page = await reader.sessions.readRevocations({ after: start.cursor, limit: 10 });
    expect(page.changes).toEqual([
      { cursor: expect.any(String), kind: "revoked", sessionId: "s1", subjectId: "u1", at: T0 + 1 },
    ]);
    expect((await reader.sessions.readRevocations({ after: page.cursor, limit: 10 })).changes).toEqual([]);
    await reader.close();
    await writer.close();
  });
});

describe("SQLite store outages", () => {
  it("reports a closed database as store_unavailable, and a broken constraint as itself", async () => {
    const store = openSqliteStore({ path: join(dir, "prolong.db") });
    await store.sessions.createSession(session("s1"));
    // A duplicate id is a bug of the caller, not an outage: it must not become a 503.
    const duplicate = await store.sessions.createSession(session("s1")).catch((e: unknown) => e);
    expect(isProlongError(duplicate)).toBe(false);
    expect((duplicate as { code?: string }).code).toMatch(/^SQLITE_CONSTRAINT/);
    await store.close();
    const closed = await store.ping().catch((e: unknown) => e);
    expect(isProlongError(closed, "store_unavailable")).toBe(true);
  });
});
