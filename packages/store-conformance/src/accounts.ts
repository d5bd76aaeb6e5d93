import type { NewAccount } from "@prolong/core";
import { describe, expect, it } from "vitest";
import { type StoreFactory, T0, uniqueId, withConcern } from "./fixtures.js";

const newAccount = (username: string, subjectId = uniqueId("u")): NewAccount => ({
  subjectId,
  username,
  passwordHash: "scrypt$hash",
  createdAt: T0,
});

/** The built-in username/password accounts. */
export function accountCases(factory: StoreFactory): void {
  describe("accounts", () => {
    it("creates an account and finds it by username and by subject", async () => {
      await withConcern(factory, "accounts", async (store) => {
        const created = await store.createAccount(newAccount("maryo", "u1"));
        expect(created).toEqual({ ...newAccount("maryo", "u1"), updatedAt: T0 });
        expect(await store.findAccountByName("maryo")).toEqual(created);
        expect(await store.findAccountBySubject("u1")).toEqual(created);
        expect(await store.findAccountByName("nobody")).toBeNull();
        expect(await store.findAccountBySubject("nobody")).toBeNull();
        const passwordless = await store.createAccount({ ...newAccount("sso-only"), passwordHash: null });
        expect(passwordless?.passwordHash).toBeNull();
      });
    });

    it("refuses a taken username, and a second account for one subject", async () => {
      await withConcern(factory, "accounts", async (store) => {
        await store.createAccount(newAccount("maryo", "u1"));
        expect(await store.createAccount(newAccount("maryo", "u2"))).toBeNull();
        expect(await store.createAccount(newAccount("other", "u1"))).toBeNull();
        expect(await store.findAccountBySubject("u2")).toBeNull();
        expect(await store.findAccountByName("other")).toBeNull();
        expect((await store.findAccountBySubject("u1"))?.username).toBe("maryo");
      });
    });

    it("gives a username to exactly one of many subjects racing for it", async () => {
      await withConcern(factory, "accounts", async (store) => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.createAccount(newAccount("wanted", `racer-${i}`))),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect(await store.findAccountByName("wanted")).toEqual(winners[0]);
      });
    });

    it("pages accounts by username", async () => {
      await withConcern(factory, "accounts", async (store) => {
        for (const name of ["carol", "alice", "dave", "bob"]) await store.createAccount(newAccount(name));
        const first = await store.listAccounts({ limit: 3 });
        expect(first.map((a) => a.username)).toEqual(["alice", "bob", "carol"]);
        const rest = await store.listAccounts({ limit: 3, after: "carol" });
        expect(rest.map((a) => a.username)).toEqual(["dave"]);
        expect(await store.listAccounts({ limit: 3, after: "dave" })).toEqual([]);
        expect(first[0]).toEqual(await store.findAccountByName("alice"));
      });
    });

    it("changes the password hash of an account, and nothing else", async () => {
      await withConcern(factory, "accounts", async (store) => {
        await store.createAccount(newAccount("maryo", "u1"));
        const changed = await store.updateAccount("u1", { passwordHash: "scrypt$new" }, T0 + 1);
        expect(changed).toEqual({
          ...newAccount("maryo", "u1"),
          passwordHash: "scrypt$new",
          updatedAt: T0 + 1,
        });
        expect(await store.findAccountByName("maryo")).toEqual(changed);
        const cleared = await store.updateAccount("u1", { passwordHash: null }, T0 + 2);
        expect(cleared).toMatchObject({ passwordHash: null, updatedAt: T0 + 2 });
        // An empty patch touches only the time.
        expect(await store.updateAccount("u1", {}, T0 + 3)).toEqual({ ...cleared, updatedAt: T0 + 3 });
        expect(await store.updateAccount("nobody", { passwordHash: "x" }, T0)).toBeNull();
      });
    });
  });
}
