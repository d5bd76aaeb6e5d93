import type { RevocationChange, SessionStore } from "@prolong/core";
import { describe, expect, it } from "vitest";
import {
  addSessions,
  DAY,
  MINUTE,
  type StoreFactory,
  sessionRecord,
  T0,
  uniqueId,
  withConcern,
} from "./fixtures.js";

/** A change as the test expects it; cursors are the store's own business. */
type Expected =
  | { kind: "revoked"; sessionId: string; subjectId: string; at: number }
  | { kind: "version"; subjectId: string; version: number; at: number };

const withoutCursor = (changes: RevocationChange[]): Expected[] =>
  changes.map(({ cursor: _cursor, ...change }) => change);

/** Every change after `after`, read in pages of `limit`; the loop is bounded by what was appended. */
async function readAll(store: SessionStore, after: string | null, limit = 100) {
  const changes: RevocationChange[] = [];
  let cursor = after;
  for (let page = 0; page < 1000; page++) {
    const read = await store.readRevocations({ after: cursor, limit });
    expect(read.changes.length).toBeLessThanOrEqual(limit);
    changes.push(...read.changes);
    cursor = read.cursor;
    if (read.changes.length < limit) return { changes, cursor };
  }
  throw new Error("the changelog never ended");
}

async function subject(store: SessionStore): Promise<string> {
  const id = uniqueId("u");
  await store.ensureSubject(id, T0);
  return id;
}

/** The revocation changelog: what each operation appends, cursors, paging, purge. */
export function revocationCases(factory: StoreFactory): void {
  describe("revocation changelog", () => {
    it("starts empty", async () => {
      await withConcern(factory, "sessions", async (store) => {
        expect((await store.readRevocations({ after: null, limit: 10 })).changes).toEqual([]);
      });
    });

    it("appends exactly one change per revocation and version bump, in order", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const u1 = await subject(store);
        const [a, b, c, d] = [
          sessionRecord({ subjectId: u1 }),
          sessionRecord({ subjectId: u1 }),
          sessionRecord({ subjectId: u1 }),
          sessionRecord({ subjectId: "subject-2" }),
        ] as const;
        await addSessions(store, a, b, c, d);

        await store.revokeSession(b.id, "logout", T0 + 1);
        const bumped = await store.bumpTokenVersion(u1, T0 + 2);
        const many = await store.revokeSubjectSessions(u1, { reason: "logout_everywhere", now: T0 + 3 });
        await store.revokeSession(d.id, "admin", T0 + 4);

        expect(bumped?.tokenVersion).toBe(1);
        const { changes } = await readAll(store, null);
        expect(withoutCursor(changes)).toEqual([
          { kind: "revoked", sessionId: b.id, subjectId: u1, at: T0 + 1 },
          { kind: "version", subjectId: u1, version: 1, at: T0 + 2 },
          // The bulk revocation appends one change per session, in the order it returned them.
          ...many.map((s) => ({ kind: "revoked", sessionId: s.id, subjectId: u1, at: T0 + 3 })),
          { kind: "revoked", sessionId: d.id, subjectId: "subject-2", at: T0 + 4 },
        ]);
        expect(many.map((s) => s.id).sort()).toEqual([a.id, c.id].sort());
      });
    });

    it("appends a revocation when rotate detects reuse, and nothing for its other outcomes", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        const request = {
          sessionId: s.id,
          clientId: s.clientId,
          generation: 0,
          presentedHash: "hash-0",
          successorHash: "hash-1",
          now: T0 + MINUTE,
          graceMs: 30_000,
          idleTimeoutMs: 7 * DAY,
        };
        expect((await store.rotate(request)).status).toBe("rotated");
        expect((await store.rotate(request)).status).toBe("replayed");
        expect((await store.rotate({ ...request, generation: 5 })).status).toBe("unknown");
        expect((await readAll(store, null)).changes).toEqual([]);

        const reuseAt = T0 + 2 * MINUTE;
        expect((await store.rotate({ ...request, now: reuseAt })).status).toBe("reused");
        expect((await store.rotate({ ...request, now: reuseAt + 1 })).status).toBe("revoked");
        expect(withoutCursor((await readAll(store, null)).changes)).toEqual([
          { kind: "revoked", sessionId: s.id, subjectId: "subject-1", at: reuseAt },
        ]);
      });
    });

    it("appends nothing for a revocation that changes nothing", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const u1 = await subject(store);
        const revoked = sessionRecord({ subjectId: u1, revokedAt: T0, revokedReason: "logout" });
        await addSessions(store, revoked);
        const start = await readAll(store, null);

        expect(await store.revokeSession(revoked.id, "admin", T0 + 1)).toBeNull();
        expect(await store.revokeSession("missing", "admin", T0 + 1)).toBeNull();
        expect(await store.revokeSubjectSessions(u1, { reason: "logout_everywhere", now: T0 + 1 })).toEqual(
          [],
        );
        expect(await store.bumpTokenVersion("nobody", T0 + 1)).toBeNull();
        const quiet = await readAll(store, start.cursor);
        expect(quiet.changes).toEqual([]);

        // The cursor of an empty read still leads to the next change.
        const live = sessionRecord({ subjectId: u1 });
        await addSessions(store, live);
        await store.revokeSession(live.id, "logout", T0 + 2);
        expect(withoutCursor((await readAll(store, quiet.cursor)).changes)).toEqual([
          { kind: "revoked", sessionId: live.id, subjectId: u1, at: T0 + 2 },
        ]);
      });
    });

    it("records racing revocations of one session once, and racing bumps each in version order", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const u1 = await subject(store);
        const s = sessionRecord({ subjectId: u1 });
        await addSessions(store, s);
        await Promise.all(Array.from({ length: 10 }, (_, i) => store.revokeSession(s.id, "admin", T0 + i)));
        await Promise.all(Array.from({ length: 10 }, () => store.bumpTokenVersion(u1, T0 + 20)));
        const { changes } = await readAll(store, null);
        expect(changes.filter((c) => c.kind === "revoked")).toHaveLength(1);
        // Commit order is cursor order: versions come out 1, 2, … 10.
        expect(changes.flatMap((c) => (c.kind === "version" ? [c.version] : []))).toEqual(
          Array.from({ length: 10 }, (_, i) => i + 1),
        );
      });
    });

    it("pages by limit, and reading after any cursor gives exactly what followed it", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const sessions = Array.from({ length: 7 }, () => sessionRecord());
        await addSessions(store, ...sessions);
        for (const [i, s] of sessions.entries()) await store.revokeSession(s.id, "logout", T0 + i);

        const all = (await readAll(store, null)).changes;
        expect(all.map((c) => (c.kind === "revoked" ? c.sessionId : ""))).toEqual(sessions.map((s) => s.id));
        expect(new Set(all.map((c) => c.cursor)).size).toBe(7);

        const paged = await readAll(store, null, 3);
        expect(paged.changes).toEqual(all);
        for (const [i, change] of all.entries()) {
          expect((await readAll(store, change.cursor)).changes, `after change ${i}`).toEqual(
            all.slice(i + 1),
          );
        }
        const first = await store.readRevocations({ after: null, limit: 3 });
        expect(first.changes).toEqual(all.slice(0, 3));
        expect((await store.readRevocations({ after: first.cursor, limit: 3 })).changes).toEqual(
          all.slice(3, 6),
        );
        expect((await store.readRevocations({ after: paged.cursor, limit: 3 })).changes).toEqual([]);
      });
    });

    it("leaves out changes older than `since`, and its cursor still passes them", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const sessions = Array.from({ length: 4 }, () => sessionRecord());
        await addSessions(store, ...sessions);
        for (const [i, s] of sessions.entries()) await store.revokeSession(s.id, "logout", T0 + i * MINUTE);

        const recent = await store.readRevocations({ after: null, since: T0 + 2 * MINUTE, limit: 10 });
        expect(recent.changes.map((c) => c.at)).toEqual([T0 + 2 * MINUTE, T0 + 3 * MINUTE]);
        const later = sessionRecord();
        await addSessions(store, later);
        await store.revokeSession(later.id, "logout", T0);
        // Followed by the later change only, old as its `at` is: since filters, it does not seek.
        expect(withoutCursor((await readAll(store, recent.cursor)).changes)).toEqual([
          { kind: "revoked", sessionId: later.id, subjectId: "subject-1", at: T0 },
        ]);
      });
    });

    it("purges old changes, and cursors handed out before keep leading to new ones", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const old = sessionRecord();
        const recent = sessionRecord();
        await addSessions(store, old, recent);
        await store.revokeSession(old.id, "logout", T0);
        await store.revokeSession(recent.id, "logout", T0 + DAY);
        const before = await readAll(store, null);

        await store.purge(T0 + DAY);
        expect(withoutCursor((await readAll(store, null)).changes)).toEqual([
          { kind: "revoked", sessionId: recent.id, subjectId: "subject-1", at: T0 + DAY },
        ]);
        await store.purge(T0 + 2 * DAY);
        expect((await readAll(store, null)).changes).toEqual([]);

        // Purged to empty: a new change must still come after the old cursor.
        const next = sessionRecord();
        await addSessions(store, next);
        await store.revokeSession(next.id, "logout", T0 + 3 * DAY);
        expect(withoutCursor((await readAll(store, before.cursor)).changes)).toEqual([
          { kind: "revoked", sessionId: next.id, subjectId: "subject-1", at: T0 + 3 * DAY },
        ]);
      });
    });

    it("wakes watchers after a change, if it offers watching", async () => {
      await withConcern(factory, "sessions", async (store) => {
        if (!store.watchRevocations) return;
        const s = sessionRecord();
        await addSessions(store, s);
        let wakes = 0;
        const stop = store.watchRevocations(() => {
          wakes += 1;
        });
        await store.revokeSession(s.id, "logout", T0);
        await expect.poll(() => wakes, { timeout: 2000 }).toBeGreaterThan(0);
        stop();
      });
    });
  });
}
