import type { KeyStore, StoredKey } from "@prolong/core";
import { describe, expect, it } from "vitest";
import { type StoreFactory, T0, withConcern } from "./fixtures.js";

const key = (kid: string, createdAt: number, activatedAt: number | null = null): StoredKey => ({
  kid,
  alg: "EdDSA",
  privateKey: `{"kid":"${kid}"}`,
  publicJwk: `{"kid":"${kid}","x":"..."}`,
  createdAt,
  activatedAt,
  retiredAt: null,
});

/** The contract gives `listKeys` no order, so tests compare keys by kid. */
const byKid = (keys: StoredKey[]) => [...keys].sort((a, b) => (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));

const states = async (store: KeyStore) =>
  byKid(await store.listKeys()).map((k) => [k.kid, k.activatedAt, k.retiredAt]);

/** Signing keys, their atomic promotion, and server secrets. */
export function keyCases(factory: StoreFactory): void {
  describe("keys and secrets", () => {
    it("puts, lists and deletes keys", async () => {
      await withConcern(factory, "keys", async (store) => {
        expect(await store.putKey(key("k1", T0, T0))).toBe(true);
        expect(await store.putKey(key("k1", T0 + 1))).toBe(false);
        expect(await store.putKey({ ...key("k2", T0 + 1), publicJwk: null, alg: "HS256" })).toBe(true);
        expect(byKid(await store.listKeys())).toEqual([
          key("k1", T0, T0),
          { ...key("k2", T0 + 1), publicJwk: null, alg: "HS256" },
        ]);
        expect(await store.deleteKey("k1")).toBe(true);
        expect(await store.deleteKey("k1")).toBe(false);
        expect((await store.listKeys()).map((k) => k.kid)).toEqual(["k2"]);
      });
    });

    it("promotes the next key and retires the active one in one step", async () => {
      await withConcern(factory, "keys", async (store) => {
        await store.putKey(key("first", T0));
        await store.putKey(key("second", T0 + 1));
        // First start: no key is active yet.
        expect(await store.promoteKey({ next: "first", active: null, now: T0 + 2 })).toBe(true);
        expect(await states(store)).toEqual([
          ["first", T0 + 2, null],
          ["second", null, null],
        ]);
        expect(await store.promoteKey({ next: "second", active: "first", now: T0 + 3 })).toBe(true);
        expect(await states(store)).toEqual([
          ["first", T0 + 2, T0 + 3],
          ["second", T0 + 3, null],
        ]);
      });
    });

    it("refuses a promotion that lost a race, changing nothing", async () => {
      await withConcern(factory, "keys", async (store) => {
        await store.putKey(key("active", T0, T0));
        await store.putKey(key("next-a", T0 + 1));
        await store.putKey(key("next-b", T0 + 2));
        const before = await states(store);
        // Not a next key: active, or unknown.
        expect(await store.promoteKey({ next: "active", active: "active", now: T0 + 5 })).toBe(false);
        expect(await store.promoteKey({ next: "nope", active: "active", now: T0 + 5 })).toBe(false);
        // The caller saw another active key, or none while there is one.
        expect(await store.promoteKey({ next: "next-a", active: "next-b", now: T0 + 5 })).toBe(false);
        expect(await store.promoteKey({ next: "next-a", active: null, now: T0 + 5 })).toBe(false);
        expect(await states(store)).toEqual(before);

        // Two instances that both saw "active" race with different next keys: one wins.
        const outcomes = await Promise.all([
          store.promoteKey({ next: "next-a", active: "active", now: T0 + 6 }),
          store.promoteKey({ next: "next-b", active: "active", now: T0 + 6 }),
        ]);
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        const active = (await store.listKeys()).filter((k) => k.activatedAt !== null && k.retiredAt === null);
        expect(active).toHaveLength(1);
        // A retired key is never promoted again.
        expect(await store.promoteKey({ next: "active", active: active[0]?.kid ?? "", now: T0 + 7 })).toBe(
          false,
        );
      });
    });

    it("replaces private keys in one step when each still holds what the caller read", async () => {
      await withConcern(factory, "keys", async (store) => {
        await store.putKey(key("k1", T0, T0));
        await store.putKey(key("k2", T0 + 1));
        await store.putKey(key("k3", T0 + 2));
        const before = byKid(await store.listKeys());
        expect(await store.replacePrivateKeys([])).toBe(true);
        expect(
          await store.replacePrivateKeys([
            { kid: "k1", from: '{"kid":"k1"}', to: "sealed-1" },
            { kid: "k2", from: '{"kid":"k2"}', to: "sealed-2" },
          ]),
        ).toBe(true);
        // Only the private keys changed, and only of the keys named.
        expect(byKid(await store.listKeys())).toEqual([
          { ...(before[0] as StoredKey), privateKey: "sealed-1" },
          { ...(before[1] as StoredKey), privateKey: "sealed-2" },
          before[2],
        ]);
      });
    });

    it("refuses a replacement of private keys when one key moved on, changing none", async () => {
      await withConcern(factory, "keys", async (store) => {
        await store.putKey(key("k1", T0, T0));
        await store.putKey(key("k2", T0 + 1));
        const before = byKid(await store.listKeys());
        // k2 no longer holds what the caller read; "gone" was never stored (or deleted).
        for (const stale of [
          { kid: "k2", from: "something else", to: "sealed-2" },
          { kid: "gone", from: '{"kid":"gone"}', to: "sealed-gone" },
        ]) {
          expect(
            await store.replacePrivateKeys([{ kid: "k1", from: '{"kid":"k1"}', to: "sealed-1" }, stale]),
          ).toBe(false);
          expect(byKid(await store.listKeys())).toEqual(before);
        }
      });
    });

    it("lets one of two racing replacements that share a key win, whole", async () => {
      await withConcern(factory, "keys", async (store) => {
        for (const kid of ["a", "b", "c"]) await store.putKey(key(kid, T0));
        const change = (kid: string, to: string) => ({ kid, from: `{"kid":"${kid}"}`, to });
        const outcomes = await Promise.all([
          store.replacePrivateKeys([change("a", "first-a"), change("b", "first-b")]),
          store.replacePrivateKeys([change("b", "second-b"), change("c", "second-c")]),
        ]);
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        const held = byKid(await store.listKeys()).map((k) => k.privateKey);
        expect(held).toEqual(
          outcomes[0] ? ["first-a", "first-b", '{"kid":"c"}'] : ['{"kid":"a"}', "second-b", "second-c"],
        );
      });
    });

    it("keeps the first value of a secret, even when claims race", async () => {
      await withConcern(factory, "keys", async (store) => {
        const values = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.claimSecret("mac", `value-${i}`)),
        );
        expect(new Set(values).size).toBe(1);
        expect(await store.claimSecret("mac", "later")).toBe(values[0]);
        expect(await store.claimSecret("other", "x")).toBe("x");
      });
    });
  });
}
