import type { RevocationChange, SessionLimit, SessionRecord, SessionStore } from "@prolong/core";
import { describe, expect, it } from "vitest";
import {
  addSessions,
  DAY,
  MINUTE,
  type StoreFactory,
  type StoreUnderTest,
  sessionRecord,
  T0,
  withStore,
} from "./fixtures.js";

/**
 * Opens a second handle on the data of `store`, as another server process would (its own
 * connection or client), so racing calls meet in the backend rather than in one handle.
 */
export type OpenPeer = (store: StoreUnderTest) => Promise<StoreUnderTest>;

const EVICT: SessionLimit = { max: 2, clientIds: ["web", "native"], onLimit: "evict" };
const REFUSE: SessionLimit = { ...EVICT, onLimit: "refuse" };
/** When the new sessions of these tests are created: after every stored one. */
const LATER = T0 + MINUTE;

async function stored(store: SessionStore, id: string): Promise<SessionRecord | null> {
  return (await store.readSession(id))?.session ?? null;
}

async function changes(store: SessionStore): Promise<RevocationChange[]> {
  return (await store.readRevocations({ after: null, limit: 1000 })).changes;
}

/** A new session created at {@link LATER}, as the engine makes one at sign-in. */
function newcomer(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord({ createdAt: LATER, authTime: LATER, lastActiveAt: LATER, ...overrides });
}

async function withSessions(
  factory: StoreFactory,
  body: (store: SessionStore) => Promise<void>,
): Promise<void> {
  await withStore(factory, async (store) => {
    if (!store.sessions) throw new Error("the store under test has no sessions concern");
    await body(store.sessions);
  });
}

/**
 * What a session carries of its authentication (`acr`, `amr`), who impersonates with it
 * (`actor`), `createSession`'s {@link SessionLimit} (count, evict or refuse, atomically,
 * also between two handles racing) and `stepUp`.
 */
export function sessionLimitCases(factory: StoreFactory, openPeer?: OpenPeer): void {
  describe("authentication context and impersonation", () => {
    it("keeps acr, amr and actor as created, through every read and write", async () => {
      await withSessions(factory, async (store) => {
        const s = sessionRecord({ acr: "urn:example:mfa", amr: ["pwd", "otp"], actor: "admin-7" });
        await addSessions(store, s);
        expect(await stored(store, s.id)).toEqual(s);
        expect(await store.listSessions(s.subjectId, T0)).toEqual([s]);
        const rotated = await store.rotate({
          sessionId: s.id,
          clientId: s.clientId,
          generation: 0,
          presentedHash: s.currentHash,
          successorHash: "hash-1",
          now: T0 + 1,
          graceMs: 30_000,
          idleTimeoutMs: DAY,
        });
        expect("session" in rotated && rotated.session).toMatchObject({
          acr: s.acr,
          amr: s.amr,
          actor: s.actor,
        });
        expect(await store.touchSession(s.id, T0 + 2, DAY)).toMatchObject({ amr: ["pwd", "otp"] });
        expect(await store.renameSession(s.id, "phone")).toMatchObject({ actor: "admin-7" });
        expect(await store.revokeSession(s.id, "admin", T0 + 3)).toMatchObject({
          acr: "urn:example:mfa",
          amr: ["pwd", "otp"],
          actor: "admin-7",
        });
      });
    });

    it("keeps an empty amr list apart from none", async () => {
      await withSessions(factory, async (store) => {
        const empty = sessionRecord({ amr: [] });
        const none = sessionRecord({ amr: null });
        await addSessions(store, empty, none);
        expect((await stored(store, empty.id))?.amr).toEqual([]);
        expect((await stored(store, none.id))?.amr).toBeNull();
      });
    });
  });

  describe("session limits", () => {
    it("without a limit always creates and evicts nothing", async () => {
      await withSessions(factory, async (store) => {
        await store.ensureSubject("subject-1", T0);
        for (let i = 0; i < 4; i++) {
          expect(await store.createSession(sessionRecord())).toEqual({ status: "created", evicted: [] });
        }
        expect(await store.listSessions("subject-1", T0)).toHaveLength(4);
        expect(await changes(store)).toEqual([]);
      });
    });

    it("below the limit creates and evicts nothing", async () => {
      await withSessions(factory, async (store) => {
        await addSessions(store, sessionRecord());
        const s = newcomer();
        expect(await store.createSession(s, EVICT)).toEqual({ status: "created", evicted: [] });
        expect(await stored(store, s.id)).toEqual(s);
        expect(await changes(store)).toEqual([]);
      });
    });

    it("at the limit evicts the least recently active (ties by the smaller id), revoked with reason evicted and on the changelog", async () => {
      await withSessions(factory, async (store) => {
        const recent = sessionRecord({ id: "s-a-recent", lastActiveAt: T0 + 5 });
        const tiedHigh = sessionRecord({ id: "s-c-tied", lastActiveAt: T0 + 1 });
        const tiedLow = sessionRecord({ id: "s-b-tied", lastActiveAt: T0 + 1, clientId: "native" });
        await addSessions(store, recent, tiedHigh, tiedLow);
        const s = newcomer();
        const outcome = await store.createSession(s, EVICT);
        expect(outcome).toEqual({ status: "created", evicted: ["s-b-tied", "s-c-tied"] });
        for (const evicted of [tiedLow, tiedHigh]) {
          expect(await stored(store, evicted.id)).toEqual({
            ...evicted,
            revokedAt: LATER,
            revokedReason: "evicted",
          });
        }
        expect(await stored(store, recent.id)).toEqual(recent);
        expect(await stored(store, s.id)).toEqual(s);
        const feed = await changes(store);
        expect(feed.map(({ cursor: _, ...change }) => change)).toEqual([
          { kind: "revoked", sessionId: "s-b-tied", subjectId: "subject-1", at: LATER },
          { kind: "revoked", sessionId: "s-c-tied", subjectId: "subject-1", at: LATER },
        ]);
        expect((await store.listSessions("subject-1", LATER)).map((x) => x.id).sort()).toEqual(
          [recent.id, s.id].sort(),
        );
      });
    });

    it("counts only the subject's own sessions of the limit's clients that are live when the new one starts", async () => {
      await withSessions(factory, async (store) => {
        const live = sessionRecord({ lastActiveAt: T0 + 9 });
        const ignored = [
          sessionRecord({ revokedAt: T0, revokedReason: "logout" }),
          sessionRecord({ idleExpiresAt: LATER }),
          sessionRecord({ absoluteExpiresAt: LATER }),
          sessionRecord({ clientId: "cli" }),
          sessionRecord({ actor: "admin-7" }),
          sessionRecord({ subjectId: "subject-2" }),
        ];
        await addSessions(store, live, ...ignored);
        expect(await store.createSession(newcomer(), EVICT)).toEqual({ status: "created", evicted: [] });
        expect(await store.createSession(newcomer(), EVICT)).toEqual({
          status: "created",
          evicted: [live.id],
        });
        for (const other of ignored) expect(await stored(store, other.id)).toEqual(other);
      });
    });

    it("refuse writes nothing and answers how many stand at the limit", async () => {
      await withSessions(factory, async (store) => {
        const existing = [sessionRecord(), sessionRecord(), sessionRecord({ clientId: "native" })];
        await addSessions(store, ...existing);
        const s = newcomer();
        expect(await store.createSession(s, REFUSE)).toEqual({ status: "refused", live: 3 });
        expect(await stored(store, s.id)).toBeNull();
        for (const other of existing) expect(await stored(store, other.id)).toEqual(other);
        expect(await changes(store)).toEqual([]);
        // Once one ends there is room again.
        await store.revokeSession((existing[0] as SessionRecord).id, "logout", T0 + 1);
        await store.revokeSession((existing[1] as SessionRecord).id, "logout", T0 + 1);
        expect(await store.createSession(s, REFUSE)).toEqual({ status: "created", evicted: [] });
      });
    });

    it("rejects a limit it cannot apply, naming the member, and writes nothing", async () => {
      await withSessions(factory, async (store) => {
        await addSessions(store, sessionRecord());
        const s = newcomer();
        await expect(store.createSession(s, { ...EVICT, max: 0 })).rejects.toThrow(/SessionLimit\.max/);
        await expect(store.createSession(s, { ...EVICT, onLimit: "drop" as "evict" })).rejects.toThrow(
          /SessionLimit\.onLimit/,
        );
        expect(await stored(store, s.id)).toBeNull();
      });
    });

    for (const limit of [EVICT, REFUSE]) {
      it(`never leaves more than max live sessions when creations race (${limit.onLimit}${openPeer ? ", two handles" : ""})`, async () => {
        await withStore(factory, async (first) => {
          const second = openPeer ? await openPeer(first) : first;
          try {
            const handles = [first.sessions, second.sessions] as SessionStore[];
            const max = 3;
            await (handles[0] as SessionStore).ensureSubject("subject-1", T0);
            const racers = Array.from({ length: 16 }, (_, i) =>
              newcomer({ id: `s-race-${String(i).padStart(2, "0")}`, lastActiveAt: LATER + i }),
            );
            const outcomes = await Promise.all(
              racers.map((s, i) => (handles[i % 2] as SessionStore).createSession(s, { ...limit, max })),
            );
            const store = handles[0] as SessionStore;
            const live = await store.listSessions("subject-1", LATER);
            expect(live).toHaveLength(max);
            const created = racers.filter((_, i) => outcomes[i]?.status === "created");
            if (limit.onLimit === "refuse") {
              expect(created).toHaveLength(max);
              expect(outcomes.filter((o) => o.status === "refused")).toHaveLength(racers.length - max);
              expect(await changes(store)).toEqual([]);
              return;
            }
            expect(created).toHaveLength(racers.length);
            const evicted = outcomes.flatMap((o) => (o.status === "created" ? o.evicted : []));
            // Each eviction was made by exactly one creation, and every evicted one ended so.
            expect(new Set(evicted).size).toBe(evicted.length);
            expect(evicted).toHaveLength(racers.length - max);
            for (const id of evicted) expect((await stored(store, id))?.revokedReason).toBe("evicted");
            const feed = await changes(store);
            expect(feed.map((c) => (c.kind === "revoked" ? c.sessionId : null)).sort()).toEqual(
              [...evicted].sort(),
            );
          } finally {
            if (second !== first) await second.close();
          }
        });
      });
    }
  });

  describe("step-up", () => {
    it("raises authTime, sets acr and amr, and moves no deadline", async () => {
      await withSessions(factory, async (store) => {
        const s = sessionRecord({ acr: "urn:example:pwd", amr: ["pwd"] });
        await addSessions(store, s);
        const now = T0 + 10 * MINUTE;
        const raised = { ...s, authTime: now, acr: "urn:example:mfa", amr: ["pwd", "otp"] };
        expect(
          await store.stepUp(s.id, { authTime: now, acr: "urn:example:mfa", amr: ["pwd", "otp"] }, now),
        ).toEqual(raised);
        expect(await stored(store, s.id)).toEqual(raised);
      });
    });

    it("never lowers authTime, keeps what is left out and clears a given null", async () => {
      await withSessions(factory, async (store) => {
        const s = sessionRecord({ authTime: T0 + MINUTE, acr: "urn:example:mfa", amr: ["pwd", "otp"] });
        await addSessions(store, s);
        const now = T0 + 2 * MINUTE;
        expect(await store.stepUp(s.id, { authTime: T0 }, now)).toEqual(s);
        expect(await store.stepUp(s.id, { authTime: T0, amr: ["hwk"] }, now)).toEqual({ ...s, amr: ["hwk"] });
        const cleared = { ...s, acr: null, amr: null };
        expect(await store.stepUp(s.id, { authTime: T0, acr: null, amr: null }, now)).toEqual(cleared);
        expect(await stored(store, s.id)).toEqual(cleared);
      });
    });

    it("answers null for a session missing, revoked or expired, and changes none", async () => {
      await withSessions(factory, async (store) => {
        const revoked = sessionRecord({ revokedAt: T0, revokedReason: "logout" });
        const expired = sessionRecord({ idleExpiresAt: T0 + MINUTE });
        await addSessions(store, revoked, expired);
        const step = { authTime: T0 + MINUTE, acr: "urn:example:mfa", amr: ["otp"] };
        expect(await store.stepUp("no-such-session", step, T0 + MINUTE)).toBeNull();
        expect(await store.stepUp(revoked.id, step, T0 + MINUTE)).toBeNull();
        expect(await store.stepUp(expired.id, step, T0 + MINUTE)).toBeNull();
        expect(await stored(store, revoked.id)).toEqual(revoked);
        expect(await stored(store, expired.id)).toEqual(expired);
      });
    });
  });
}
