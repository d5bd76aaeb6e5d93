import type { SessionRecord, SessionStore } from "@prolong/core";
import { describe, expect, it } from "vitest";
import {
  addSessions,
  DAY,
  GRACE,
  MINUTE,
  rotateRequest as request,
  type StoreFactory,
  sessionRecord,
  T0,
  withConcern,
} from "./fixtures.js";

/** The session as stored now, read through the hot read. */
async function stored(store: SessionStore, id: string): Promise<SessionRecord | null> {
  return (await store.readSession(id))?.session ?? null;
}

async function rotated(store: SessionStore, session: SessionRecord, now: number): Promise<SessionRecord> {
  const outcome = await store.rotate(request(session, { now }));
  if (outcome.status !== "rotated") throw new Error(`expected rotated, got ${outcome.status}`);
  return outcome.session;
}

/** Every outcome of `rotate`, its order and its edges, and rotation under contention. */
export function rotateCases(factory: StoreFactory): void {
  describe("rotate", () => {
    it("rotates the current token: successor current, previous kept, idle deadline slid", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        // The outcome carries the subject as it stands, so a refresh needs no other read.
        const subject = await store.updateSubject(s.subjectId, { claims: { roles: ["admin"] } }, T0 + 1);
        const outcome = await store.rotate(request(s, { now: T0 + DAY }));
        expect(outcome.status).toBe("rotated");
        const expected = {
          ...s,
          generation: 1,
          currentHash: "hash-1",
          previousHash: "hash-0",
          rotatedAt: T0 + DAY,
          lastActiveAt: T0 + DAY,
          idleExpiresAt: T0 + 8 * DAY,
        };
        expect(outcome).toEqual({ status: "rotated", session: expected, subject });
        expect(await stored(store, s.id)).toEqual(expected);
      });
    });

    it("never slides the idle deadline past the absolute one", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord({ absoluteExpiresAt: T0 + 2 * DAY });
        await addSessions(store, s);
        expect((await rotated(store, s, T0 + DAY)).idleExpiresAt).toBe(T0 + 2 * DAY);
      });
    });

    it("replays the previous token inside the grace window, edge included, and writes nothing", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        const after = await rotated(store, s, T0 + MINUTE);
        const outcome = await store.rotate(request(s, { now: T0 + MINUTE + GRACE }));
        expect(outcome).toEqual({
          status: "replayed",
          session: after,
          subject: await store.findSubject(s.subjectId),
        });
        expect(await stored(store, s.id)).toEqual(after);
      });
    });

    it("treats the previous token one millisecond after the grace window as reuse and revokes", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        await rotated(store, s, T0 + MINUTE);
        const now = T0 + MINUTE + GRACE + 1;
        const outcome = await store.rotate(request(s, { now }));
        expect(outcome.status).toBe("reused");
        expect("session" in outcome && outcome.session).toMatchObject({
          revokedAt: now,
          revokedReason: "reuse",
        });
        expect((await stored(store, s.id))?.revokedReason).toBe("reuse");
      });
    });

    it("answers a straggler (two generations behind, inside the grace window of the latest rotation) overtaken and writes nothing", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        const first = await rotated(store, s, T0 + MINUTE);
        // The window runs from the latest rotation: the first one's has closed by then.
        const latest = T0 + MINUTE + 2 * GRACE;
        const after = await rotated(store, first, latest);
        const subject = await store.findSubject(s.subjectId);
        for (const now of [latest, latest + GRACE]) {
          expect(await store.rotate(request(s, { now }))).toEqual({
            status: "overtaken",
            session: after,
            subject,
          });
        }
        // No hash two generations back is kept: the engine vouches for the token.
        expect((await store.rotate(request(s, { presentedHash: "unkept", now: latest + 1 }))).status).toBe(
          "overtaken",
        );
        expect(await stored(store, s.id)).toEqual(after);
        expect((await store.readRevocations({ after: null, limit: 10 })).changes).toEqual([]);
        // The session goes on: its current token still rotates.
        expect((await store.rotate(request(after, { now: latest + GRACE }))).status).toBe("rotated");
      });
    });

    it("treats a token two generations behind one millisecond after the grace window as reuse and revokes", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        const first = await rotated(store, s, T0 + MINUTE);
        await rotated(store, first, T0 + MINUTE + 1);
        const now = T0 + MINUTE + 1 + GRACE + 1;
        const outcome = await store.rotate(request(s, { now }));
        expect(outcome.status).toBe("reused");
        expect((await stored(store, s.id))?.revokedReason).toBe("reuse");
        expect((await store.readRevocations({ after: null, limit: 10 })).changes).toMatchObject([
          { kind: "revoked", sessionId: s.id, at: now },
        ]);
      });
    });

    it("treats any older generation as reuse, three behind inside the grace window included", async () => {
      await withConcern(factory, "sessions", async (store) => {
        let s = sessionRecord();
        await addSessions(store, s);
        const original = s;
        for (let i = 0; i < 3; i++) s = await rotated(store, s, T0 + MINUTE + i);
        const outcome = await store.rotate(
          request(original, { presentedHash: "anything", now: T0 + MINUTE + 5 }),
        );
        expect(outcome.status).toBe("reused");
        expect((await stored(store, s.id))?.revokedReason).toBe("reuse");
      });
    });

    it("answers unknown for a later generation, a wrong hash, or a missing session, and changes nothing", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord({ generation: 4, currentHash: "hash-4" });
        await addSessions(store, s);
        expect(await store.rotate(request(s, { generation: 5 }))).toEqual({ status: "unknown" });
        expect(await store.rotate(request(s, { presentedHash: "hash-x" }))).toEqual({ status: "unknown" });
        expect(await store.rotate(request(sessionRecord()))).toEqual({ status: "unknown" });
        expect(await stored(store, s.id)).toEqual(s);
      });
    });

    it("answers unknown to another client, whatever its token would mean, and writes nothing", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord({ clientId: "web" });
        await addSessions(store, s);
        const current = await rotated(store, s, T0 + MINUTE);
        // RFC 6749 §6: the token is bound to its client. From another client the current
        // token does not rotate, the previous one is not replayed, and an old one is not
        // taken for reuse: the session must not be revoked by a client that does not own it.
        const foreign = { clientId: "native" };
        expect(await store.rotate(request(current, { ...foreign, now: T0 + MINUTE + 1 }))).toEqual({
          status: "unknown",
        });
        expect(await store.rotate(request(s, { ...foreign, now: T0 + MINUTE + 1 }))).toEqual({
          status: "unknown",
        });
        expect(await store.rotate(request(s, { ...foreign, now: T0 + MINUTE + GRACE + 1 }))).toEqual({
          status: "unknown",
        });
        expect(await stored(store, s.id)).toEqual(current);
        expect((await store.readRevocations({ after: null, limit: 10 })).changes).toEqual([]);
        // Revoked or expired, a session of another client is still none of its business.
        const revoked = sessionRecord({ clientId: "web", revokedAt: T0, revokedReason: "logout" });
        const expired = sessionRecord({ clientId: "web", idleExpiresAt: T0 + 1 });
        await addSessions(store, revoked, expired);
        expect(await store.rotate(request(revoked, foreign))).toEqual({ status: "unknown" });
        expect(await store.rotate(request(expired, foreign))).toEqual({ status: "unknown" });
        // Its own client still rotates it.
        expect((await store.rotate(request(current, { now: T0 + MINUTE + 2 }))).status).toBe("rotated");
      });
    });

    it("answers revoked before anything else, then expired", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const revoked = sessionRecord({ revokedAt: T0, revokedReason: "logout", idleExpiresAt: T0 });
        await addSessions(store, revoked);
        expect((await store.rotate(request(revoked))).status).toBe("revoked");

        const idle = sessionRecord({ idleExpiresAt: T0 + MINUTE });
        await addSessions(store, idle);
        expect((await store.rotate(request(idle, { now: T0 + MINUTE - 1 }))).status).toBe("rotated");

        const idleEdge = sessionRecord({ idleExpiresAt: T0 + MINUTE });
        await addSessions(store, idleEdge);
        const atEdge = await store.rotate(request(idleEdge, { now: T0 + MINUTE }));
        expect(atEdge.status).toBe("expired");
        // Expired is not revoked: nothing is written.
        expect((await stored(store, idleEdge.id))?.generation).toBe(0);

        const absolute = sessionRecord({ absoluteExpiresAt: T0 + MINUTE });
        await addSessions(store, absolute);
        expect((await store.rotate(request(absolute, { now: T0 + MINUTE }))).status).toBe("expired");
      });
    });

    it("settles 50 concurrent rotations of one token on exactly one successor, never revoking", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        const outcomes = await Promise.all(Array.from({ length: 50 }, () => store.rotate(request(s))));
        const counts = outcomes.reduce<Record<string, number>>((acc, o) => {
          acc[o.status] = (acc[o.status] ?? 0) + 1;
          return acc;
        }, {});
        expect(counts).toEqual({ rotated: 1, replayed: 49 });
        const after = await stored(store, s.id);
        expect(after).toMatchObject({ generation: 1, currentHash: "hash-1", revokedAt: null });
      });
    });

    it("lets only one of two different successors win a race", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        const outcomes = await Promise.all([
          store.rotate(request(s, { successorHash: "left" })),
          store.rotate(request(s, { successorHash: "right" })),
        ]);
        expect(outcomes.map((o) => o.status).sort()).toEqual(["replayed", "rotated"]);
        const winner = outcomes.find((o) => o.status === "rotated");
        expect((await stored(store, s.id))?.currentHash).toBe(
          winner?.status === "rotated" ? winner.session.currentHash : "none",
        );
      });
    });
  });
}
