import { describe, expect, it } from "vitest";
import { type StoreFactory, T0, withConcern } from "./fixtures.js";

const WINDOW = 60_000;

/** Fixed-window rate-limit counters, and how concurrent hits add up. */
export function limitCases(factory: StoreFactory): void {
  describe("rate-limit counters", () => {
    it("counts hits in one window and starts over when it ends", async () => {
      await withConcern(factory, "limits", async (store) => {
        expect(await store.peek("k", T0)).toBeNull();
        expect(await store.hit("k", WINDOW, T0)).toEqual({ count: 1, resetAt: T0 + WINDOW });
        expect(await store.hit("k", WINDOW, T0 + 10)).toEqual({ count: 2, resetAt: T0 + WINDOW });
        expect(await store.peek("k", T0 + 20)).toEqual({ count: 2, resetAt: T0 + WINDOW });
        // The window is over at its reset instant: peek sees none, a hit starts a new one.
        expect(await store.peek("k", T0 + WINDOW)).toBeNull();
        expect(await store.hit("k", WINDOW, T0 + WINDOW)).toEqual({ count: 1, resetAt: T0 + 2 * WINDOW });
      });
    });

    it("keeps keys apart, whatever characters they hold", async () => {
      await withConcern(factory, "limits", async (store) => {
        const keys = ['pw:pair:["alice","192.0.2.1"]', "pw:pair:{x}", "grant:addr:2001:db8::/64"];
        for (const [i, key] of keys.entries()) {
          for (let n = 0; n <= i; n++) await store.hit(key, WINDOW, T0);
        }
        for (const [i, key] of keys.entries()) expect((await store.peek(key, T0))?.count).toBe(i + 1);
      });
    });

    it("takes back one hit of a running window, never below zero nor after it ended", async () => {
      await withConcern(factory, "limits", async (store) => {
        await store.hit("k", WINDOW, T0);
        await store.hit("k", WINDOW, T0);
        await store.takeBack("k", T0 + 1);
        expect((await store.peek("k", T0 + 1))?.count).toBe(1);
        await store.takeBack("k", T0 + 1);
        await store.takeBack("k", T0 + 1);
        expect((await store.peek("k", T0 + 1))?.count).toBe(0);
        // Taking back a missing or finished window counts nothing, so a later hit starts at 1.
        await store.takeBack("missing", T0);
        expect(await store.peek("missing", T0)).toBeNull();
        await store.hit("late", WINDOW, T0);
        await store.takeBack("late", T0 + WINDOW);
        expect(await store.hit("late", WINDOW, T0 + WINDOW)).toEqual({ count: 1, resetAt: T0 + 2 * WINDOW });
      });
    });

    it("counts every one of many concurrent hits exactly once", async () => {
      await withConcern(factory, "limits", async (store) => {
        const windows = await Promise.all(Array.from({ length: 40 }, () => store.hit("burst", WINDOW, T0)));
        expect(windows.map((w) => w.count).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 40 }, (_, i) => i + 1),
        );
        expect(new Set(windows.map((w) => w.resetAt))).toEqual(new Set([T0 + WINDOW]));
        expect((await store.peek("burst", T0))?.count).toBe(40);
      });
    });

    it("purges windows that ended, keeping running ones", async () => {
      await withConcern(factory, "limits", async (store) => {
        await store.hit("short", 1_000, T0);
        await store.hit("long", WINDOW, T0);
        const purged = await store.purge(T0 + 2_000);
        // A store whose counters expire by themselves may have nothing left to purge.
        expect([0, 1]).toContain(purged);
        expect(await store.peek("long", T0 + 2_000)).toEqual({ count: 1, resetAt: T0 + WINDOW });
        expect(await store.peek("short", T0 + 2_000)).toBeNull();
      });
    });
  });
}
