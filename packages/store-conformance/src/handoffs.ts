import type { HandoffRecord } from "@prolong/core";
import { describe, expect, it } from "vitest";
import { DAY, MINUTE, type StoreFactory, T0, uniqueId, withConcern } from "./fixtures.js";

function handoff(overrides: Partial<HandoffRecord> = {}): HandoffRecord {
  return {
    hash: uniqueId("h"),
    subjectId: "subject-1",
    clientId: "web",
    deviceName: "laptop",
    tokenVersion: 2,
    acr: null,
    amr: null,
    createdAt: T0,
    expiresAt: T0 + MINUTE,
    ...overrides,
  };
}

/** One-time handoff codes: `putHandoff`, `takeHandoff` and what `purge` does to them. */
export function handoffCases(factory: StoreFactory): void {
  describe("handoffs", () => {
    it("gives a handoff back exactly as stored, once", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const stored = handoff();
        const other = handoff({ deviceName: null, clientId: "spa" });
        await store.putHandoff(stored);
        await store.putHandoff(other);
        expect(await store.takeHandoff(stored.hash, T0 + 1)).toEqual(stored);
        // A replay finds nothing; the other handoff is untouched.
        expect(await store.takeHandoff(stored.hash, T0 + 2)).toBeNull();
        expect(await store.takeHandoff(other.hash, T0 + 3)).toEqual(other);
        expect(await store.takeHandoff("never-stored", T0)).toBeNull();
      });
    });

    it("keeps acr and amr as put, an empty amr list apart from none", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const vouched = handoff({ acr: "urn:example:mfa", amr: ["pwd", "otp"] });
        const empty = handoff({ acr: "urn:example:pwd", amr: [] });
        const none = handoff({ acr: null, amr: null });
        for (const h of [vouched, empty, none]) await store.putHandoff(h);
        // A list the caller changes after putting it is not the stored one.
        vouched.amr?.push("hwk");
        expect(await store.takeHandoff(vouched.hash, T0 + 1)).toEqual({
          ...vouched,
          amr: ["pwd", "otp"],
        });
        const takenEmpty = await store.takeHandoff(empty.hash, T0 + 1);
        expect(takenEmpty).toEqual(empty);
        expect(takenEmpty?.amr).toEqual([]);
        const takenNone = await store.takeHandoff(none.hash, T0 + 1);
        expect(takenNone).toEqual(none);
        expect(takenNone?.acr).toBeNull();
        expect(takenNone?.amr).toBeNull();
      });
    });

    it("refuses a handoff from its expiry on, and removes it all the same", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const late = handoff();
        await store.putHandoff(late);
        // The deadline reached is expired, as for sessions.
        expect(await store.takeHandoff(late.hash, late.expiresAt)).toBeNull();
        // Gone: not even a take with an earlier clock (another server's) gets it.
        expect(await store.takeHandoff(late.hash, T0)).toBeNull();
        const onTime = handoff();
        await store.putHandoff(onTime);
        expect(await store.takeHandoff(onTime.hash, onTime.expiresAt - 1)).toEqual(onTime);
      });
    });

    it("hands one handoff to one of many racing takes", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const raced = handoff();
        await store.putHandoff(raced);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.takeHandoff(raced.hash, T0 + i)),
        );
        expect(results.filter((r) => r !== null)).toEqual([raced]);
      });
    });

    it("purges handoffs that expired before the cut-off, and only those", async () => {
      await withConcern(factory, "sessions", async (store) => {
        const expired = handoff({ expiresAt: T0 + MINUTE });
        const atCutOff = handoff({ expiresAt: T0 + 2 * MINUTE });
        const live = handoff({ expiresAt: T0 + DAY });
        for (const h of [expired, atCutOff, live]) await store.putHandoff(h);
        await store.purge(T0 + 2 * MINUTE);
        // Taken with a clock before every expiry, so only the purge can explain a miss.
        expect(await store.takeHandoff(expired.hash, T0)).toBeNull();
        expect(await store.takeHandoff(atCutOff.hash, T0)).toEqual(atCutOff);
        expect(await store.takeHandoff(live.hash, T0)).toEqual(live);
      });
    });
  });
}
