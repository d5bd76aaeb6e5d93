import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isProlongError, type SessionRecord } from "@prolong/core";
import { DAY, sessionRecord, T0 } from "@prolong/store-conformance";
import { openSqliteStore, type SqliteStore } from "@prolong/store-sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type HeldWriteLock, holdSqliteWriteLock } from "../../../testing/sqlite-lock.js";

/**
 * Another process holds the database's write lock (testing/sqlite-lock-holder.mjs), as a
 * second server, the CLI or a backup would. The store must wait for it without holding
 * the event loop: a 5 ms interval keeps ticking meanwhile. The bound on the longest gap
 * between ticks is loose, so a loaded machine does not fail it; a wait inside the driver
 * would stall the loop for the whole wait (a second or more here).
 */

const TICK_MS = 5;
const LONGEST_GAP_MS = 200;

let dir: string;
let lock: HeldWriteLock | null;
const stores: SqliteStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "prolong-lock-wait-"));
  lock = null;
});
afterEach(async () => {
  await lock?.release();
  for (const store of stores.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(busyTimeout: number): { store: SqliteStore; path: string } {
  const path = join(dir, "prolong.db");
  const store = openSqliteStore({ path, busyTimeout });
  stores.push(store);
  return { store, path };
}

/** Counts the ticks of a short interval and the longest gap between them, until stopped. */
function watchEventLoop() {
  let last = performance.now();
  let longest = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    ticks++;
  }, TICK_MS);
  return {
    get ticks() {
      return ticks;
    },
    stop() {
      clearInterval(timer);
      return { ticks, longest: Math.max(longest, performance.now() - last) };
    },
  };
}

/** Resolves once `count` more ticks of `watch` have happened. */
async function ticksPass(watch: { ticks: number }, count: number): Promise<void> {
  const until = watch.ticks + count;
  while (watch.ticks < until) await new Promise((resolve) => setTimeout(resolve, TICK_MS));
}

/** A promise with whether it has settled yet. */
function tracked<T>(promise: Promise<T>) {
  const state = { settled: false, promise };
  promise.then(
    () => {
      state.settled = true;
    },
    () => {
      state.settled = true;
    },
  );
  return state;
}

const live = (id: string, subjectId: string, overrides: Partial<SessionRecord> = {}) =>
  sessionRecord({ id, subjectId, currentHash: "h0", ...overrides });

async function addSessions(store: SqliteStore, ...sessions: SessionRecord[]) {
  for (const session of sessions) {
    await store.sessions.ensureSubject(session.subjectId, T0);
    await store.sessions.createSession(session);
  }
}

const rotation = (sessionId: string) => ({
  sessionId,
  clientId: "web",
  generation: 0,
  presentedHash: "h0",
  successorHash: "h1",
  now: T0 + 1000,
  graceMs: 30_000,
  idleTimeoutMs: DAY,
});

describe("SQLite store while another process holds the write lock", () => {
  it("waits for the lock on timers, the event loop ticking, and commits every concern's writes once it is released", async () => {
    const { store, path } = open(10_000);
    await addSessions(
      store,
      live("rotate-me", "u1"),
      live("rename-me", "u1"),
      live("touch-me", "u1"),
      live("revoke-me", "u1"),
      live("all-1", "u3"),
      live("all-2", "u3"),
      live("expired", "u1", { idleExpiresAt: T0 - 1 }),
    );
    await store.sessions.ensureSubject("u4", T0);
    const handoff = {
      hash: "taken",
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
    await store.accounts.createAccount({
      subjectId: "u1",
      username: "ada",
      passwordHash: null,
      createdAt: T0,
    });
    const key = (kid: string, activatedAt: number | null) => ({
      kid,
      alg: "EdDSA",
      privateKey: "sealed",
      publicJwk: null,
      createdAt: T0,
      activatedAt,
      retiredAt: null,
    });
    await store.keys.putKey(key("next", null));
    await store.keys.putKey(key("old", null));
    await store.limits.hit("counted", 60_000, T0);
    await store.limits.hit("taken-back", 60_000, T0);

    lock = await holdSqliteWriteLock(path);
    const watch = watchEventLoop();
    const operations: Record<string, () => Promise<unknown>> = {
      ping: () => store.ping(),
      ensureSubject: () => store.sessions.ensureSubject("u2", T0),
      updateSubject: () => store.sessions.updateSubject("u4", { disabled: true }, T0 + 1),
      bumpTokenVersion: () => store.sessions.bumpTokenVersion("u1", T0 + 1),
      createSession: () => store.sessions.createSession(live("created", "u1")),
      renameSession: () => store.sessions.renameSession("rename-me", "Phone"),
      rotate: () => store.sessions.rotate(rotation("rotate-me")),
      touchSession: () => store.sessions.touchSession("touch-me", T0 + 1, DAY),
      revokeSession: () => store.sessions.revokeSession("revoke-me", "logout", T0 + 1),
      revokeSubjectSessions: () =>
        store.sessions.revokeSubjectSessions("u3", { reason: "logout_everywhere", now: T0 + 1 }),
      putHandoff: () => store.sessions.putHandoff({ ...handoff, hash: "put" }),
      takeHandoff: () => store.sessions.takeHandoff("taken", T0 + 1),
      purgeSessions: () => store.sessions.purge(T0),
      createAccount: () =>
        store.accounts.createAccount({ subjectId: "u4", username: "bo", passwordHash: null, createdAt: T0 }),
      updateAccount: () => store.accounts.updateAccount("u1", { passwordHash: "new" }, T0 + 1),
      putKey: () => store.keys.putKey(key("added", null)),
      promoteKey: () => store.keys.promoteKey({ next: "next", active: null, now: T0 + 1 }),
      deleteKey: () => store.keys.deleteKey("old"),
      replacePrivateKeys: () =>
        store.keys.replacePrivateKeys([{ kid: "next", from: "sealed", to: "resealed" }]),
      claimSecret: () => store.keys.claimSecret("resource", "candidate"),
      record: () =>
        store.audit.record({
          id: "e1",
          type: "signed_in",
          subjectId: "u1",
          sessionId: null,
          at: T0,
          detail: {},
        }),
      purgeEvents: () => store.audit.purge(T0 - 1),
      hit: () => store.limits.hit("counted", 60_000, T0 + 1),
      takeBack: () => store.limits.takeBack("taken-back", T0 + 1),
      purgeLimits: () => store.limits.purge(T0 - 1),
    };
    const writes = Object.entries(operations).map(([name, write]) => [name, tracked(write())] as const);

    // Reads need no lock in WAL mode: they answer while the writes wait.
    expect((await store.sessions.readSession("rotate-me"))?.session.generation).toBe(0);
    expect((await store.keys.listKeys()).map((k) => k.kid)).toEqual(["next", "old"]);

    await ticksPass(watch, 60);
    expect(writes.filter(([, write]) => write.settled).map(([name]) => name)).toEqual([]);
    const loop = watch.stop();
    expect(loop.ticks).toBeGreaterThanOrEqual(60);
    expect(loop.longest).toBeLessThan(LONGEST_GAP_MS);

    await lock.release();
    const results = Object.fromEntries(
      await Promise.all(writes.map(async ([name, write]) => [name, await write.promise] as const)),
    );
    expect(results.rotate).toMatchObject({
      status: "rotated",
      session: { generation: 1, currentHash: "h1" },
    });
    expect(results.bumpTokenVersion).toMatchObject({ tokenVersion: 1 });
    expect(results.updateSubject).toMatchObject({ id: "u4", disabled: true });
    expect(results.renameSession).toMatchObject({ deviceName: "Phone" });
    expect(results.touchSession).toMatchObject({ lastActiveAt: T0 + 1 });
    expect(results.revokeSession).toMatchObject({ id: "revoke-me", revokedReason: "logout" });
    expect(results.revokeSubjectSessions).toHaveLength(2);
    expect(results.takeHandoff).toMatchObject({ hash: "taken" });
    expect(results.purgeSessions).toBe(1);
    expect(results.createAccount).toMatchObject({ username: "bo" });
    expect(results.updateAccount).toMatchObject({ passwordHash: "new" });
    expect(results.putKey).toBe(true);
    expect(results.promoteKey).toBe(true);
    expect(results.deleteKey).toBe(true);
    expect(results.replacePrivateKeys).toBe(true);
    expect(results.claimSecret).toBe("candidate");
    expect(results.hit).toMatchObject({ count: 2 });

    // Each revoking write committed once with its changelog entry: none ran twice.
    const { changes } = await store.sessions.readRevocations({ after: null, limit: 100 });
    expect(changes.map((c) => (c.kind === "revoked" ? c.sessionId : `version ${c.version}`)).sort()).toEqual(
      ["all-1", "all-2", "revoke-me", "version 1"].sort(),
    );
    expect(await store.sessions.takeHandoff("put", T0 + 1)).toMatchObject({ hash: "put" });
    expect((await store.audit.list({ limit: 10 })).events.map((e) => e.id)).toEqual(["e1"]);
    expect(await store.limits.peek("taken-back", T0 + 1)).toMatchObject({ count: 0 });
  });

  it("gives up with store_unavailable once busyTimeout has passed, having changed nothing, and never stalls the loop", async () => {
    const { store, path } = open(1000);
    await addSessions(store, live("s1", "u1"), live("s2", "u1"));

    lock = await holdSqliteWriteLock(path);
    const watch = watchEventLoop();
    const [rotated, revoked] = await Promise.all([
      store.sessions.rotate(rotation("s1")).catch((e: unknown) => e),
      store.sessions
        .revokeSubjectSessions("u1", { reason: "logout_everywhere", now: T0 + 1 })
        .catch((e: unknown) => e),
    ]);
    const loop = watch.stop();
    for (const error of [rotated, revoked]) {
      expect(isProlongError(error, "store_unavailable"), String(error)).toBe(true);
      expect((error as Error).message).toContain("1000 ms");
    }
    expect(loop.longest).toBeLessThan(LONGEST_GAP_MS);

    await lock.release();
    lock = null;
    expect((await store.sessions.readSession("s1"))?.session).toMatchObject({
      generation: 0,
      currentHash: "h0",
      revokedAt: null,
    });
    expect((await store.sessions.readRevocations({ after: null, limit: 10 })).changes).toEqual([]);
  });

  it("runs a transaction that met the lock from its start, so it decides on what the other process committed", async () => {
    const { store, path } = open(10_000);
    await addSessions(store, live("s1", "u1"));
    // The other process revokes the session inside the transaction that holds the lock.
    lock = await holdSqliteWriteLock(path, {
      sql: `UPDATE sessions SET revoked_at = ${T0 + 500}, revoked_reason = 'admin' WHERE id = 's1'`,
    });
    const rotate = tracked(store.sessions.rotate(rotation("s1")));
    const watch = watchEventLoop();
    await ticksPass(watch, 20);
    watch.stop();
    expect(rotate.settled).toBe(false);
    await lock.release();
    // Read after the other commit, under the lock it then took: revoked, and not rotated.
    expect(await rotate.promise).toMatchObject({ status: "revoked", session: { generation: 0 } });
    expect((await store.sessions.readSession("s1"))?.session).toMatchObject({
      generation: 0,
      currentHash: "h0",
      revokedReason: "admin",
    });
  });

  it("answers a write once another process that holds the lock for a while lets go by itself", async () => {
    const { store, path } = open(10_000);
    await addSessions(store, live("s1", "u1"));
    lock = await holdSqliteWriteLock(path, { forMs: 400 });
    const released = lock.released;
    const outcome = await store.sessions.rotate(rotation("s1"));
    const answeredAt = Date.now();
    expect(outcome.status).toBe("rotated");
    // Both times are the machine's wall clock, shared by the two processes.
    expect(answeredAt).toBeGreaterThanOrEqual(await released);
  });
});
