import { isProlongError, type SessionStore } from "@prolong/core";
import { describe, expect, it } from "vitest";
import { type StoreFactory, sessionRecord, T0, withStore } from "./fixtures.js";

/** Blocks the store's writes until the returned function is called. */
export type BlockWrites = (store: SessionStore) => Promise<() => Promise<void>>;

async function failure(operation: Promise<unknown>): Promise<unknown> {
  try {
    await operation;
  } catch (error) {
    return error;
  }
  return "resolved";
}

/** Readiness proves writes (the store contract, `ping`); an outage is `store_unavailable`, never a miss. */
export function readinessCases(factory: StoreFactory, blockWrites: BlockWrites): void {
  describe("readiness and outages", () => {
    it("ping and writes reject with store_unavailable while writes are blocked, and recover after", async () => {
      await withStore(factory, async (store) => {
        const session = sessionRecord();
        await store.createSession(session);
        const release = await blockWrites(store);
        try {
          const pinged = await failure(store.ping());
          expect(isProlongError(pinged, "store_unavailable"), String(pinged)).toBe(true);
          const revoked = await failure(store.revokeSession(session.id, "logout", T0 + 1));
          expect(isProlongError(revoked, "store_unavailable"), String(revoked)).toBe(true);
        } finally {
          await release();
        }
        await expect(store.ping()).resolves.toBeUndefined();
        expect((await store.revokeSession(session.id, "logout", T0 + 1))?.revokedAt).toBe(T0 + 1);
      });
    });
  });
}
