import { describe, expect, it } from "vitest";
import { type StoreFactory, T0, withConcern } from "./fixtures.js";

const LIFETIME = 60_000;

/** Single-use claims: once per key until the claim expires, exactly once under contention. */
export function replayCases(factory: StoreFactory): void {
  describe("single-use claims", () => {
    it("grants a key once until its claim expires, and again from that instant", async () => {
      await withConcern(factory, "replay", async (store) => {
        expect(await store.claim("jti-1", T0 + LIFETIME, T0)).toBe(true);
        expect(await store.claim("jti-1", T0 + LIFETIME, T0)).toBe(false);
        // A later claim asking for a longer life is refused too, and does not extend the first.
        expect(await store.claim("jti-1", T0 + 10 * LIFETIME, T0 + LIFETIME - 1)).toBe(false);
        expect(await store.claim("jti-1", T0 + 2 * LIFETIME, T0 + LIFETIME)).toBe(true);
        expect(await store.claim("jti-1", T0 + 2 * LIFETIME, T0 + LIFETIME + 1)).toBe(false);
      });
    });

    it("keeps keys apart, whatever characters they hold", async () => {
      await withConcern(factory, "replay", async (store) => {
        const keys = ["dpop:jkt-a:jti", "dpop:jkt-b:jti", 'dbsc:{"x":1}', "dbsc:a b\u00e9\u{1f600}", ""];
        for (const key of keys) expect(await store.claim(key, T0 + LIFETIME, T0), key).toBe(true);
        for (const key of keys) expect(await store.claim(key, T0 + LIFETIME, T0 + 1), key).toBe(false);
      });
    });

    it("grants exactly one of many concurrent claims of one key", async () => {
      await withConcern(factory, "replay", async (store) => {
        const answers = await Promise.all(
          Array.from({ length: 40 }, () => store.claim("raced", T0 + LIFETIME, T0)),
        );
        expect(answers.filter(Boolean)).toHaveLength(1);
      });
    });

    it("purges expired claims only: a running claim still refuses its key", async () => {
      await withConcern(factory, "replay", async (store) => {
        await store.claim("short", T0 + 1_000, T0);
        await store.claim("long", T0 + LIFETIME, T0);
        const purged = await store.purge(T0 + 2_000);
        // A store whose claims expire by themselves may have nothing left to purge.
        expect([0, 1]).toContain(purged);
        expect(await store.claim("long", T0 + LIFETIME, T0 + 2_000)).toBe(false);
        expect(await store.claim("short", T0 + 3_000, T0 + 2_000)).toBe(true);
        expect(await store.purge(T0 + 2_000)).toBe(0);
      });
    });
  });
}
