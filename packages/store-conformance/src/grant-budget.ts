import type { GrantBudget, RotateOutcome, RotateRequest, SessionRecord, SessionStore } from "@prolong/core";
import { describe, expect, it } from "vitest";
import { addSessions, DAY, MINUTE, type StoreFactory, sessionRecord, T0, withConcern } from "./fixtures.js";

const GRACE = 30_000;
const WINDOW = MINUTE;

function request(session: SessionRecord, now: number, budget: GrantBudget | null): RotateRequest {
  return {
    sessionId: session.id,
    clientId: session.clientId,
    generation: session.generation,
    presentedHash: session.currentHash,
    successorHash: `hash-${session.generation + 1}`,
    now,
    graceMs: GRACE,
    idleTimeoutMs: 7 * DAY,
    budget,
  };
}

const budget = (max: number): GrantBudget => ({ max, windowMs: WINDOW });

async function stored(store: SessionStore, id: string): Promise<SessionRecord | null> {
  return (await store.readSession(id))?.session ?? null;
}

/** Rotates the session's current token under `limit`, which must allow it. */
async function rotate(store: SessionStore, s: SessionRecord, now: number, limit: GrantBudget | null) {
  const outcome = await store.rotate(request(s, now, limit));
  if (outcome.status !== "rotated") throw new Error(`expected rotated, got ${outcome.status}`);
  return outcome.session;
}

const statusCounts = (outcomes: RotateOutcome[]) => {
  const counts: Record<string, number> = {};
  for (const { status } of outcomes) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
};

/**
 * The per-session grant budget that `rotate` checks and spends in the same atomic step
 * (RotateOutcome): what counts, what is free, that a refusal writes nothing, the window,
 * and exact counts under contention.
 */
export function grantBudgetCases(factory: StoreFactory): void {
  describe("rotate with a grant budget", () => {
    it("counts each rotation; past the budget answers limited with the window's end and writes nothing", async () => {
      await withConcern(factory, "sessions", async (store) => {
        let s = sessionRecord();
        await addSessions(store, s);
        const start = T0 + MINUTE;
        for (let i = 0; i < 3; i++) s = await rotate(store, s, start + i * 1000, budget(3));
        const before = await stored(store, s.id);
        const refused = await store.rotate(request(s, start + 5000, budget(3)));
        expect(refused).toEqual({ status: "limited", resetAt: start + WINDOW });
        expect(await stored(store, s.id)).toEqual(before);
        // The refusal was not counted, nor did it rotate: the same token rotates once the window ends.
        expect((await rotate(store, s, start + WINDOW, budget(3))).generation).toBe(4);
      });
    });

    it("lets replays inside the grace window through for free", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        const now = T0 + MINUTE;
        let current = await rotate(store, s, now, budget(2));
        for (let i = 0; i < 10; i++) {
          expect((await store.rotate(request(s, now + i, budget(2)))).status).toBe("replayed");
        }
        // One grant spent of two: one more rotation, then the budget is spent.
        current = await rotate(store, current, now + 100, budget(2));
        expect(await store.rotate(request(current, now + 200, budget(2)))).toEqual({
          status: "limited",
          resetAt: now + WINDOW,
        });
      });
    });

    it("counts a straggler's answer, which mints an access token", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        const now = T0 + MINUTE;
        const first = await rotate(store, s, now, budget(3));
        const second = await rotate(store, first, now + 10, budget(3));
        expect((await store.rotate(request(s, now + 20, budget(3)))).status).toBe("overtaken");
        expect((await store.rotate(request(second, now + 30, budget(3)))).status).toBe("limited");
      });
    });

    it("counts failed presentations of a session that exists; a missing one has no budget", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        await store.revokeSession(s.id, "logout", T0 + 1);
        const now = T0 + MINUTE;
        expect((await store.rotate(request(s, now, budget(2)))).status).toBe("revoked");
        // Another client's presentation says nothing about the session, but spends its budget.
        expect((await store.rotate({ ...request(s, now, budget(2)), clientId: "other" })).status).toBe(
          "unknown",
        );
        expect(await store.rotate(request(s, now + 1, budget(2)))).toEqual({
          status: "limited",
          resetAt: now + WINDOW,
        });
        const missing = sessionRecord();
        for (let i = 0; i < 3; i++) {
          expect((await store.rotate(request(missing, now, budget(1)))).status).toBe("unknown");
        }
      });
    });

    it("refuses a reuse over the budget without revoking anything", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        const now = T0 + MINUTE;
        const after = await rotate(store, s, now, budget(1));
        // The first token, out of the grace window: a reuse, but the budget is spent first.
        const late = now + GRACE + 1;
        expect((await store.rotate(request(s, late, budget(1)))).status).toBe("limited");
        expect(await stored(store, s.id)).toEqual(after);
        expect(await store.readRevocations({ after: null, limit: 10 })).toMatchObject({ changes: [] });
      });
    });

    it("runs a fixed window: refused until its end, edge included; a new one starts at the next grant", async () => {
      await withConcern(factory, "sessions", async (store) => {
        let s = sessionRecord();
        await addSessions(store, s);
        const start = T0 + MINUTE;
        s = await rotate(store, s, start, budget(1));
        expect(await store.rotate(request(s, start + WINDOW - 1, budget(1)))).toEqual({
          status: "limited",
          resetAt: start + WINDOW,
        });
        const later = start + WINDOW + 5000;
        s = await rotate(store, s, later, budget(1));
        expect(await store.rotate(request(s, later + 1, budget(1)))).toEqual({
          status: "limited",
          resetAt: later + WINDOW,
        });
      });
    });

    it("checks and counts nothing without a budget", async () => {
      await withConcern(factory, "sessions", async (store) => {
        let s = sessionRecord();
        await addSessions(store, s);
        const now = T0 + MINUTE;
        for (let i = 0; i < 3; i++) s = await rotate(store, s, now + i, null);
        s = await rotate(store, s, now + 10, budget(1));
        for (let i = 0; i < 3; i++) s = await rotate(store, s, now + 20 + i, null);
        expect(s.generation).toBe(7);
      });
    });

    it("counts racing presentations exactly: one token from 50 tabs is one grant", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        const now = T0 + MINUTE;
        const outcomes = await Promise.all(
          Array.from({ length: 50 }, () => store.rotate(request(s, now, budget(3)))),
        );
        expect(statusCounts(outcomes)).toEqual({ rotated: 1, replayed: 49 });
        let current = (await stored(store, s.id)) as SessionRecord;
        current = await rotate(store, current, now + 1, budget(3));
        current = await rotate(store, current, now + 2, budget(3));
        expect((await store.rotate(request(current, now + 3, budget(3)))).status).toBe("limited");
      });
    });

    it("counts racing counted presentations exactly: no more than the budget get through", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        await store.revokeSession(s.id, "logout", T0 + 1);
        const now = T0 + MINUTE;
        const outcomes = await Promise.all(
          Array.from({ length: 30 }, () => store.rotate(request(s, now, budget(10)))),
        );
        expect(statusCounts(outcomes)).toEqual({ revoked: 10, limited: 20 });
      });
    });

    it("touchSession spends the same budget as rotate, and over it touches nothing", async () => {
      await withConcern(factory, "sessions", async (store) => {
        let s = sessionRecord();
        await addSessions(store, s);
        const now = T0 + MINUTE;
        const touched = await store.touchSession(s.id, now, DAY, budget(3));
        expect(touched).toEqual({ ...s, lastActiveAt: now, idleExpiresAt: now + DAY });
        s = await rotate(store, s, now + 1, budget(3));
        expect(await store.touchSession(s.id, now + 2, DAY, budget(3))).toMatchObject({
          lastActiveAt: now + 2,
        });
        const before = await stored(store, s.id);
        expect(await store.touchSession(s.id, now + 3, DAY, budget(3))).toEqual({
          status: "limited",
          resetAt: now + WINDOW,
        });
        expect(await store.rotate(request(s, now + 4, budget(3)))).toEqual({
          status: "limited",
          resetAt: now + WINDOW,
        });
        expect(await stored(store, s.id)).toEqual(before);
        // Without a budget it counts nothing and is never refused.
        expect(await store.touchSession(s.id, now + 5, DAY)).toMatchObject({ lastActiveAt: now + 5 });
        expect(await store.touchSession(sessionRecord().id, now, DAY, budget(3))).toBeNull();
      });
    });

    it("touchSession counts racing exchanges exactly", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const s = sessionRecord();
        await addSessions(store, s);
        const now = T0 + MINUTE;
        const outcomes = await Promise.all(
          Array.from({ length: 30 }, () => store.touchSession(s.id, now, DAY, budget(10))),
        );
        const limited = outcomes.filter((o) => o !== null && "status" in o);
        expect(limited).toHaveLength(20);
        expect(outcomes.filter((o) => o !== null && !("status" in o))).toHaveLength(10);
      });
    });
  });
}
