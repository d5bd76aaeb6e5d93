import { isProlongError } from "@prolong/core";
import { describe, expect, it } from "vitest";
import {
  addSessions,
  type StoreFactory,
  type StoreUnderTest,
  sessionRecord,
  T0,
  withStore,
} from "./fixtures.js";

/** Blocks the store's writes until the returned function is called. */
export type BlockWrites = (store: StoreUnderTest) => Promise<() => Promise<void>>;

async function failure(operation: Promise<unknown>): Promise<unknown> {
  try {
    await operation;
  } catch (error) {
    return error;
  }
  return "resolved";
}

function ping(store: StoreUnderTest): Promise<void> {
  if (!store.ping) throw new Error("the store under test has no ping");
  return store.ping();
}

/** What a caller can see of every concern the store has. */
async function visible(store: StoreUnderTest) {
  return {
    subject: await store.sessions?.findSubject("subject-1"),
    sessions: await store.sessions?.listSessions("subject-1", T0),
    changes: (await store.sessions?.readRevocations({ after: null, limit: 100 }))?.changes,
    accounts: await store.accounts?.listAccounts({ limit: 10 }),
    keys: await store.keys?.listKeys(),
    events: (await store.audit?.list({ limit: 10 }))?.events,
  };
}

/**
 * One write of each concern the store has, at the `n`th attempt (so retries do not
 * collide): each must reject with `store_unavailable` while writes are blocked.
 */
function writes(store: StoreUnderTest, n: number): [string, () => Promise<unknown>][] {
  const { sessions, accounts, keys, audit, limits, replay } = store;
  const list: [string, () => Promise<unknown>][] = [["ping", () => ping(store)]];
  if (sessions)
    list.push(["sessions.bumpTokenVersion", () => sessions.bumpTokenVersion("subject-1", T0 + n)]);
  if (accounts) {
    const account = { subjectId: `subject-${n}`, username: `user-${n}`, passwordHash: null, createdAt: T0 };
    list.push(["accounts.createAccount", () => accounts.createAccount(account)]);
  }
  if (keys) list.push(["keys.claimSecret", () => keys.claimSecret(`secret-${n}`, "value")]);
  if (audit) {
    const event = {
      id: `event-${n}`,
      type: "signed_in",
      subjectId: null,
      sessionId: null,
      at: T0,
      detail: {},
    };
    list.push(["audit.record", () => audit.record(event)]);
  }
  if (limits) list.push(["limits.hit", () => limits.hit(`key-${n}`, 60_000, T0)]);
  if (replay) list.push(["replay.claim", () => replay.claim(`claim-${n}`, T0 + 60_000, T0)]);
  return list;
}

/** Readiness proves writes (the store contract, `ping`); an outage is `store_unavailable`, never a miss. */
export function readinessCases(factory: StoreFactory, blockWrites: BlockWrites | undefined): void {
  describe("readiness and outages", () => {
    it("answers ping when ready, again and again, without changing anything a caller sees", async () => {
      await withStore(factory, async (store) => {
        if (store.sessions) await addSessions(store.sessions, sessionRecord());
        const before = await visible(store);
        for (let i = 0; i < 3; i++) await expect(ping(store)).resolves.toBeUndefined();
        expect(await visible(store)).toEqual(before);
      });
    });

    if (!blockWrites) return;

    it("ping and every concern's writes reject with store_unavailable while writes are blocked, and recover after", async () => {
      await withStore(factory, async (store) => {
        const session = sessionRecord();
        if (store.sessions) await addSessions(store.sessions, session);
        const release = await blockWrites(store);
        try {
          for (const [name, write] of writes(store, 1)) {
            const error = await failure(write());
            expect(isProlongError(error, "store_unavailable"), `${name}: ${String(error)}`).toBe(true);
          }
          if (store.sessions) {
            const revoked = await failure(store.sessions.revokeSession(session.id, "logout", T0 + 1));
            expect(isProlongError(revoked, "store_unavailable"), String(revoked)).toBe(true);
          }
        } finally {
          await release();
        }
        for (const [name, write] of writes(store, 2)) {
          expect(await failure(write()), name).toBe("resolved");
        }
        if (store.sessions) {
          expect((await store.sessions.revokeSession(session.id, "logout", T0 + 1))?.revokedAt).toBe(T0 + 1);
        }
      });
    });
  });
}
