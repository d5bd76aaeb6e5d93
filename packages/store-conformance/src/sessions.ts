import { describe, expect, it } from "vitest";
import { addSessions, DAY, type StoreFactory, sessionRecord, T0, uniqueId, withConcern } from "./fixtures.js";

/** Subjects, and sessions other than rotation and the changelog. */
export function sessionCases(factory: StoreFactory): void {
  describe("subjects", () => {
    it("creates a subject on first use, with defaults, and returns it unchanged after", async () => {
      await withConcern(factory, "sessions", async (store) => {
        expect(await store.findSubject("u1")).toBeNull();
        const created = await store.ensureSubject("u1", T0);
        expect(created).toEqual({
          id: "u1",
          disabled: false,
          tokenVersion: 0,
          reauthRequiredAt: null,
          claims: {},
          createdAt: T0,
          updatedAt: T0,
        });
        expect(await store.findSubject("u1")).toEqual(created);
        await store.updateSubject("u1", { disabled: true }, T0 + 1);
        // Ensuring again neither recreates nor resets it.
        expect(await store.ensureSubject("u1", T0 + 2)).toEqual({
          ...created,
          disabled: true,
          updatedAt: T0 + 1,
        });
      });
    });

    it("creates a subject once however many callers ensure it at the same time", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.ensureSubject("u1", T0 + i)),
        );
        const first = await store.findSubject("u1");
        expect(first).not.toBeNull();
        for (const result of results) expect(result).toEqual(first);
      });
    });

    it("applies only the fields a patch names", async () => {
      await withConcern(factory, "sessions", async (store) => {
        await store.ensureSubject("u1", T0);
        const disabled = await store.updateSubject("u1", { disabled: true }, T0 + 1);
        expect(disabled).toMatchObject({
          disabled: true,
          reauthRequiredAt: null,
          claims: {},
          updatedAt: T0 + 1,
        });
        const patched = await store.updateSubject(
          "u1",
          { reauthRequiredAt: T0 + 5, claims: { roles: ["admin"], nested: { a: 1 } } },
          T0 + 2,
        );
        expect(patched).toEqual({
          id: "u1",
          disabled: true,
          tokenVersion: 0,
          reauthRequiredAt: T0 + 5,
          claims: { roles: ["admin"], nested: { a: 1 } },
          createdAt: T0,
          updatedAt: T0 + 2,
        });
        expect(await store.findSubject("u1")).toEqual(patched);
        expect(
          (await store.updateSubject("u1", { reauthRequiredAt: null }, T0 + 3))?.reauthRequiredAt,
        ).toBeNull();
        expect(await store.updateSubject("nobody", { disabled: true }, T0)).toBeNull();
        expect(await store.findSubject("nobody")).toBeNull();
      });
    });

    it("bumps the token version atomically, however many bumps race", async () => {
      await withConcern(factory, "sessions", async (store) => {
        await store.ensureSubject("u1", T0);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.bumpTokenVersion("u1", T0 + i)),
        );
        expect(new Set(results.map((u) => u?.tokenVersion))).toEqual(
          new Set(Array.from({ length: 20 }, (_, i) => i + 1)),
        );
        const subject = await store.findSubject("u1");
        expect(subject?.tokenVersion).toBe(20);
        expect(subject?.updatedAt).toBeGreaterThanOrEqual(T0);
        expect(await store.bumpTokenVersion("nobody", T0)).toBeNull();
        expect(await store.findSubject("nobody")).toBeNull();
      });
    });
  });

  describe("sessions", () => {
    it("stores every field, and reads a session with its subject in one call", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const session = sessionRecord({
          absoluteExpiresAt: null,
          previousHash: "p",
          rotatedAt: T0 - 1,
          generation: 3,
          deviceName: null,
          userAgent: null,
          ip: null,
        });
        await addSessions(store, session);
        const subject = await store.updateSubject(
          session.subjectId,
          { claims: { roles: ["reader"] } },
          T0 + 1,
        );
        expect(await store.readSession(session.id)).toEqual({ session, subject });
        expect(await store.readSession("missing")).toBeNull();
      });
    });

    it("takes a session whose subject does not exist for a missing one, to read or to rotate", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const orphan = sessionRecord({ subjectId: "never-ensured" });
        await store.createSession(orphan);
        expect(await store.readSession(orphan.id)).toBeNull();
        const rotate = {
          sessionId: orphan.id,
          clientId: orphan.clientId,
          generation: 0,
          presentedHash: orphan.currentHash,
          successorHash: "hash-1",
          now: T0 + 1,
          graceMs: 30_000,
          idleTimeoutMs: DAY,
        };
        expect(await store.rotate(rotate)).toEqual({ status: "unknown" });
        // Nothing was written: once its subject exists, the session reads as it was stored.
        await store.ensureSubject(orphan.subjectId, T0);
        expect((await store.readSession(orphan.id))?.session).toEqual(orphan);
      });
    });

    it("lists a subject's live sessions newest first, without revoked or expired ones", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const old = sessionRecord({ createdAt: T0 });
        const newer = sessionRecord({ createdAt: T0 + 10 });
        const revoked = sessionRecord({ createdAt: T0 + 20, revokedAt: T0 + 30, revokedReason: "logout" });
        const idle = sessionRecord({ createdAt: T0 + 40, idleExpiresAt: T0 + DAY });
        const absolute = sessionRecord({ createdAt: T0 + 50, absoluteExpiresAt: T0 + DAY });
        const someoneElse = sessionRecord({ subjectId: "subject-2", createdAt: T0 + 60 });
        await addSessions(store, old, newer, revoked, idle, absolute, someoneElse);
        const ids = async (now: number) => (await store.listSessions("subject-1", now)).map((s) => s.id);
        expect(await ids(T0 + DAY - 1)).toEqual([absolute.id, idle.id, newer.id, old.id]);
        // Expiry is inclusive: at the deadline the session is over.
        expect(await ids(T0 + DAY)).toEqual([newer.id, old.id]);
        expect(await store.listSessions("subject-1", T0 + DAY)).toEqual([newer, old]);
        expect(await store.listSessions("nobody", T0)).toEqual([]);
      });
    });

    it("lists ended sessions too when asked, and narrows to one client", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const live = sessionRecord({ createdAt: T0 });
        const native = sessionRecord({ createdAt: T0 + 10, clientId: "native" });
        const revoked = sessionRecord({ createdAt: T0 + 20, revokedAt: T0 + 30, revokedReason: "logout" });
        const idle = sessionRecord({ createdAt: T0 + 40, idleExpiresAt: T0 + 50 });
        const someoneElse = sessionRecord({ subjectId: "subject-2", createdAt: T0 + 60 });
        await addSessions(store, live, native, revoked, idle, someoneElse);
        const ids = async (options: Parameters<typeof store.listSessions>[2]) =>
          (await store.listSessions("subject-1", T0 + DAY, options)).map((s) => s.id);
        expect(await ids({})).toEqual([native.id, live.id]);
        expect(await ids({ ended: true })).toEqual([idle.id, revoked.id, native.id, live.id]);
        expect(await ids({ clientId: "native" })).toEqual([native.id]);
        expect(await ids({ clientId: "web", ended: true })).toEqual([idle.id, revoked.id, live.id]);
        expect(await ids({ clientId: "nobody" })).toEqual([]);
        expect(await store.listSessions("subject-1", T0 + DAY, { ended: true, limit: 1 })).toEqual([idle]);
      });
    });

    it("pages through sessions of one millisecond without skipping or repeating any", async () => {
      await withConcern(factory, "sessions", async (store) => {
        // Ids in no particular order, most of them created in the same millisecond.
        const sessions = ["m", "c", "x", "a", "q", "k"].map((id, i) =>
          sessionRecord({ id: uniqueId(id), createdAt: i === 0 ? T0 - 1 : T0 }),
        );
        await addSessions(store, ...sessions);
        const all = await store.listSessions("subject-1", T0);
        // Newest first; within one millisecond by id, greatest first.
        const order = [...sessions].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
        expect(all.map((s) => s.id)).toEqual(order.map((s) => s.id));
        for (const limit of [1, 2, 4]) {
          const seen: string[] = [];
          let after: { createdAt: number; id: string } | undefined;
          for (let page = 0; page < sessions.length + 1; page++) {
            const got = await store.listSessions("subject-1", T0, { limit, ...(after ? { after } : {}) });
            expect(got.length).toBeLessThanOrEqual(limit);
            seen.push(...got.map((s) => s.id));
            const last = got.at(-1);
            if (got.length < limit || !last) break;
            after = { createdAt: last.createdAt, id: last.id };
          }
          expect(seen, `pages of ${limit}`).toEqual(order.map((s) => s.id));
        }
      });
    });

    it("renames sessions that are not revoked", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const live = sessionRecord();
        const revoked = sessionRecord({ revokedAt: T0, revokedReason: "logout" });
        await addSessions(store, live, revoked);
        expect((await store.renameSession(live.id, "Maryo's iPad"))?.deviceName).toBe("Maryo's iPad");
        expect((await store.readSession(live.id))?.session.deviceName).toBe("Maryo's iPad");
        expect(await store.renameSession(revoked.id, "x")).toBeNull();
        expect((await store.readSession(revoked.id))?.session.deviceName).toBe("laptop");
        expect(await store.renameSession("missing", "x")).toBeNull();
      });
    });

    it("revokes a session once", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        const revoked = await store.revokeSession(s.id, "logout", T0 + 5);
        expect(revoked).toEqual({ ...s, revokedAt: T0 + 5, revokedReason: "logout" });
        expect(await store.revokeSession(s.id, "admin", T0 + 6)).toBeNull();
        expect((await store.readSession(s.id))?.session).toEqual(revoked);
        expect(await store.revokeSession("missing", "logout", T0)).toBeNull();
      });
    });

    it("revokes all of a subject's sessions but one, returning exactly those it revoked", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const keep = sessionRecord();
        const a = sessionRecord();
        const b = sessionRecord();
        const already = sessionRecord({ revokedAt: T0, revokedReason: "logout" });
        const other = sessionRecord({ subjectId: "subject-2" });
        await addSessions(store, keep, a, b, already, other);
        const revoked = await store.revokeSubjectSessions("subject-1", {
          exceptId: keep.id,
          reason: "password_change",
          now: T0 + 9,
        });
        expect(revoked.map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
        for (const s of revoked) {
          expect(s).toEqual({
            ...(s.id === a.id ? a : b),
            revokedAt: T0 + 9,
            revokedReason: "password_change",
          });
        }
        const stored = async (id: string) => (await store.readSession(id))?.session;
        expect((await stored(keep.id))?.revokedAt).toBeNull();
        expect((await stored(other.id))?.revokedAt).toBeNull();
        expect((await stored(already.id))?.revokedReason).toBe("logout");
        expect((await stored(a.id))?.revokedReason).toBe("password_change");
        const all = await store.revokeSubjectSessions("subject-1", {
          reason: "logout_everywhere",
          now: T0 + 10,
        });
        expect(all.map((s) => s.id)).toEqual([keep.id]);
      });
    });

    it("touches a live session: activity now, idle deadline slid but capped by the absolute one", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord({ absoluteExpiresAt: T0 + 2 * DAY });
        const unlimited = sessionRecord({ absoluteExpiresAt: null });
        const revoked = sessionRecord({ revokedAt: T0, revokedReason: "logout" });
        await addSessions(store, s, unlimited, revoked);
        const touched = await store.touchSession(s.id, T0 + DAY, 7 * DAY);
        expect(touched).toEqual({ ...s, lastActiveAt: T0 + DAY, idleExpiresAt: T0 + 2 * DAY });
        expect((await store.readSession(s.id))?.session).toEqual(touched);
        expect(await store.touchSession(unlimited.id, T0 + DAY, 7 * DAY)).toMatchObject({
          idleExpiresAt: T0 + 8 * DAY,
        });
        // At the absolute deadline the session is over: nothing to touch.
        expect(await store.touchSession(s.id, T0 + 2 * DAY, 7 * DAY)).toBeNull();
        expect(await store.touchSession(revoked.id, T0 + 1, DAY)).toBeNull();
        expect(await store.touchSession("missing", T0, DAY)).toBeNull();
      });
    });

    it("purges sessions that ended before the cut-off and keeps the rest", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const cut = T0 + 10 * DAY;
        const revokedLongAgo = sessionRecord({
          subjectId: "subject-2",
          revokedAt: cut - 1,
          revokedReason: "logout",
        });
        const revokedRecently = sessionRecord({
          revokedAt: cut,
          revokedReason: "logout",
          idleExpiresAt: cut + DAY,
        });
        const idleEnded = sessionRecord({ idleExpiresAt: cut });
        const absoluteEnded = sessionRecord({ absoluteExpiresAt: cut - DAY });
        const live = sessionRecord({ idleExpiresAt: cut + 1, absoluteExpiresAt: null });
        await addSessions(store, revokedLongAgo, revokedRecently, idleEnded, absoluteEnded, live);
        expect(await store.purge(cut)).toBe(3);
        expect(await store.readSession(revokedLongAgo.id)).toBeNull();
        expect(await store.readSession(idleEnded.id)).toBeNull();
        expect(await store.readSession(absoluteEnded.id)).toBeNull();
        expect(await store.readSession(revokedRecently.id)).not.toBeNull();
        expect(await store.readSession(live.id)).not.toBeNull();
        // Subjects outlive their sessions: their standing (token version, re-auth) must hold.
        expect(await store.findSubject("subject-2")).not.toBeNull();
      });
    });
  });
}
