import type { SessionStore } from "@prolong/core";
import { describe, expect, it } from "vitest";
import { DAY, type StoreFactory, sessionRecord, T0, uniqueId, withStore } from "./fixtures.js";

const newUser = (username: string, id = uniqueId("u")) => ({
  id,
  username,
  passwordHash: "scrypt$hash",
  disabled: false,
  claims: { roles: ["reader"], nested: { a: 1 } },
  createdAt: T0,
});

/** Users, sessions other than rotation, events, keys, secrets, purge. */
export function basicCases(factory: StoreFactory): void {
  describe("users", () => {
    it("creates a user with version 0 and finds it by id and by name", async () => {
      await withStore(factory, async (store) => {
        const created = await store.createUser(newUser("maryo", "u1"));
        expect(created).toEqual({
          ...newUser("maryo", "u1"),
          tokenVersion: 0,
          reauthRequiredAt: null,
          updatedAt: T0,
        });
        expect(await store.findUser("u1")).toEqual(created);
        expect(await store.findUserByName("maryo")).toEqual(created);
        expect(await store.findUser("nobody")).toBeNull();
        expect(await store.findUserByName("nobody")).toBeNull();
      });
    });

    it("refuses a taken id or username", async () => {
      await withStore(factory, async (store) => {
        await store.createUser(newUser("maryo", "u1"));
        expect(await store.createUser(newUser("maryo", "u2"))).toBeNull();
        expect(await store.createUser(newUser("other", "u1"))).toBeNull();
        expect((await store.findUser("u1"))?.username).toBe("maryo");
      });
    });

    it("pages users by username", async () => {
      await withStore(factory, async (store) => {
        for (const name of ["carol", "alice", "dave", "bob"]) await store.createUser(newUser(name));
        const first = await store.listUsers({ limit: 3 });
        expect(first.map((u) => u.username)).toEqual(["alice", "bob", "carol"]);
        const rest = await store.listUsers({ limit: 3, after: "carol" });
        expect(rest.map((u) => u.username)).toEqual(["dave"]);
      });
    });

    it("applies only the fields a patch names", async () => {
      await withStore(factory, async (store) => {
        await store.createUser(newUser("maryo", "u1"));
        const disabled = await store.updateUser("u1", { disabled: true }, T0 + 1);
        expect(disabled).toMatchObject({ disabled: true, passwordHash: "scrypt$hash", updatedAt: T0 + 1 });
        const patched = await store.updateUser(
          "u1",
          { passwordHash: null, reauthRequiredAt: T0 + 5, claims: { roles: ["admin"] } },
          T0 + 2,
        );
        expect(patched).toMatchObject({
          disabled: true,
          passwordHash: null,
          reauthRequiredAt: T0 + 5,
          claims: { roles: ["admin"] },
        });
        expect(await store.findUser("u1")).toEqual(patched);
        expect(await store.updateUser("nobody", { disabled: true }, T0)).toBeNull();
      });
    });

    it("bumps the token version atomically, however many bumps race", async () => {
      await withStore(factory, async (store) => {
        await store.createUser(newUser("maryo", "u1"));
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.bumpTokenVersion("u1", T0 + i)),
        );
        expect(new Set(results.map((u) => u?.tokenVersion))).toEqual(
          new Set(Array.from({ length: 20 }, (_, i) => i + 1)),
        );
        const user = await store.findUser("u1");
        expect(user?.tokenVersion).toBe(20);
        expect(user?.updatedAt).toBeGreaterThanOrEqual(T0);
        expect(await store.bumpTokenVersion("nobody", T0)).toBeNull();
      });
    });
  });

  describe("sessions", () => {
    it("stores and returns every field", async () => {
      await withStore(factory, async (store) => {
        const session = sessionRecord({
          absoluteExpiresAt: null,
          previousHash: "p",
          rotatedAt: T0 - 1,
          generation: 3,
        });
        await store.createSession(session);
        expect(await store.findSession(session.id)).toEqual(session);
        expect(await store.findSession("missing")).toBeNull();
      });
    });

    it("lists a user's live sessions newest first, without revoked or expired ones", async () => {
      await withStore(factory, async (store) => {
        const old = sessionRecord({ createdAt: T0 });
        const newer = sessionRecord({ createdAt: T0 + 10 });
        const revoked = sessionRecord({ createdAt: T0 + 20, revokedAt: T0 + 30, revokedReason: "logout" });
        const idle = sessionRecord({ createdAt: T0 + 40, idleExpiresAt: T0 + DAY });
        const absolute = sessionRecord({ createdAt: T0 + 50, absoluteExpiresAt: T0 + DAY });
        const someoneElse = sessionRecord({ userId: "user-2" });
        for (const s of [old, newer, revoked, idle, absolute, someoneElse]) await store.createSession(s);
        const ids = async (now: number) => (await store.listSessions("user-1", now)).map((s) => s.id);
        expect(await ids(T0 + DAY - 1)).toEqual([absolute.id, idle.id, newer.id, old.id]);
        // Expiry is inclusive: at the deadline the session is over.
        expect(await ids(T0 + DAY)).toEqual([newer.id, old.id]);
        // Sessions created in the same millisecond: the one created later comes first.
        const twin = sessionRecord({ createdAt: T0 + 10 });
        await store.createSession(twin);
        expect(await ids(T0 + DAY)).toEqual([twin.id, newer.id, old.id]);
      });
    });

    it("renames sessions that are not revoked", async () => {
      await withStore(factory, async (store) => {
        const live = sessionRecord();
        const revoked = sessionRecord({ revokedAt: T0, revokedReason: "logout" });
        await store.createSession(live);
        await store.createSession(revoked);
        expect((await store.renameSession(live.id, "Maryo's iPad"))?.deviceName).toBe("Maryo's iPad");
        expect((await store.findSession(live.id))?.deviceName).toBe("Maryo's iPad");
        expect(await store.renameSession(revoked.id, "x")).toBeNull();
        expect(await store.renameSession("missing", "x")).toBeNull();
      });
    });

    it("revokes a session once", async () => {
      await withStore(factory, async (store) => {
        const s = sessionRecord();
        await store.createSession(s);
        const revoked = await store.revokeSession(s.id, "logout", T0 + 5);
        expect(revoked).toMatchObject({ id: s.id, revokedAt: T0 + 5, revokedReason: "logout" });
        expect(await store.revokeSession(s.id, "admin", T0 + 6)).toBeNull();
        expect((await store.findSession(s.id))?.revokedReason).toBe("logout");
        expect(await store.revokeSession("missing", "logout", T0)).toBeNull();
      });
    });

    it("revokes all of a user's sessions but one, returning exactly those it revoked", async () => {
      await withStore(factory, async (store) => {
        const keep = sessionRecord();
        const a = sessionRecord();
        const b = sessionRecord();
        const already = sessionRecord({ revokedAt: T0, revokedReason: "logout" });
        const other = sessionRecord({ userId: "user-2" });
        for (const s of [keep, a, b, already, other]) await store.createSession(s);
        const revoked = await store.revokeUserSessions("user-1", {
          exceptId: keep.id,
          reason: "password_change",
          now: T0 + 9,
        });
        expect(revoked.map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
        expect(revoked.every((s) => s.revokedAt === T0 + 9 && s.revokedReason === "password_change")).toBe(
          true,
        );
        expect((await store.findSession(keep.id))?.revokedAt).toBeNull();
        expect((await store.findSession(other.id))?.revokedAt).toBeNull();
        expect((await store.findSession(already.id))?.revokedReason).toBe("logout");
        const all = await store.revokeUserSessions("user-1", { reason: "logout_everywhere", now: T0 + 10 });
        expect(all.map((s) => s.id)).toEqual([keep.id]);
      });
    });

    it("touches a live session: activity now, idle deadline slid but capped by the absolute one", async () => {
      await withStore(factory, async (store) => {
        const s = sessionRecord({ absoluteExpiresAt: T0 + 2 * DAY });
        await store.createSession(s);
        const touched = await store.touchSession(s.id, T0 + DAY, 7 * DAY);
        expect(touched).toMatchObject({ lastActiveAt: T0 + DAY, idleExpiresAt: T0 + 2 * DAY });
        const unlimited = sessionRecord({ absoluteExpiresAt: null });
        await store.createSession(unlimited);
        expect((await store.touchSession(unlimited.id, T0 + DAY, 7 * DAY))?.idleExpiresAt).toBe(T0 + 8 * DAY);
        expect(await store.touchSession(s.id, T0 + 2 * DAY, 7 * DAY)).toBeNull();
        const revoked = sessionRecord({ revokedAt: T0, revokedReason: "logout" });
        await store.createSession(revoked);
        expect(await store.touchSession(revoked.id, T0 + 1, DAY)).toBeNull();
        expect(await store.touchSession("missing", T0, DAY)).toBeNull();
      });
    });
  });

  describe("security events", () => {
    it("records events and lists them newest first, filtered and limited", async () => {
      await withStore(factory, async (store) => {
        const event = (id: string, at: number, userId: string | null, sessionId: string | null) => ({
          id,
          type: "session_revoked",
          userId,
          sessionId,
          at,
          detail: { reason: "logout", n: at },
        });
        await store.recordEvent(event("e1", T0 + 1, "u1", "s1"));
        await store.recordEvent(event("e2", T0 + 2, "u1", "s2"));
        await store.recordEvent(event("e3", T0 + 3, "u2", null));
        expect((await store.listEvents({ limit: 10 })).map((e) => e.id)).toEqual(["e3", "e2", "e1"]);
        expect((await store.listEvents({ limit: 2 })).map((e) => e.id)).toEqual(["e3", "e2"]);
        expect(await store.listEvents({ userId: "u1", limit: 10 })).toEqual([
          event("e2", T0 + 2, "u1", "s2"),
          event("e1", T0 + 1, "u1", "s1"),
        ]);
        expect((await store.listEvents({ sessionId: "s1", limit: 10 })).map((e) => e.id)).toEqual(["e1"]);
      });
    });
  });

  describe("keys and secrets", () => {
    const key = (kid: string, createdAt: number, activatedAt: number | null = null) => ({
      kid,
      alg: "EdDSA",
      privateKey: `{"kid":"${kid}"}`,
      publicJwk: `{"kid":"${kid}","x":"..."}`,
      createdAt,
      activatedAt,
      retiredAt: null,
    });
    const states = async (store: SessionStore) =>
      (await store.listKeys()).map((k) => [k.kid, k.activatedAt, k.retiredAt]);

    it("puts, lists and deletes keys", async () => {
      await withStore(factory, async (store) => {
        expect(await store.putKey(key("k1", T0, T0))).toBe(true);
        expect(await store.putKey(key("k1", T0 + 1))).toBe(false);
        expect(await store.putKey({ ...key("k2", T0 + 1), publicJwk: null, alg: "HS256" })).toBe(true);
        expect(await store.listKeys()).toEqual([
          key("k1", T0, T0),
          { ...key("k2", T0 + 1), publicJwk: null, alg: "HS256" },
        ]);
        expect(await store.deleteKey("k1")).toBe(true);
        expect(await store.deleteKey("k1")).toBe(false);
        expect((await store.listKeys()).map((k) => k.kid)).toEqual(["k2"]);
      });
    });

    it("promotes the next key and retires the active one in one step", async () => {
      await withStore(factory, async (store) => {
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
      await withStore(factory, async (store) => {
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

    it("keeps the first value of a secret, even when claims race", async () => {
      await withStore(factory, async (store) => {
        const values = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.claimSecret("mac", `value-${i}`)),
        );
        expect(new Set(values).size).toBe(1);
        expect(await store.claimSecret("mac", "later")).toBe(values[0]);
        expect(await store.claimSecret("other", "x")).toBe("x");
      });
    });
  });

  describe("upkeep", () => {
    it("purges sessions that ended before the cut-off and old events, and keeps the rest", async () => {
      await withStore(factory, async (store) => {
        const cut = T0 + 10 * DAY;
        const revokedLongAgo = sessionRecord({ revokedAt: cut - 1, revokedReason: "logout" });
        const revokedRecently = sessionRecord({
          revokedAt: cut,
          revokedReason: "logout",
          idleExpiresAt: cut + DAY,
        });
        const idleEnded = sessionRecord({ idleExpiresAt: cut });
        const absoluteEnded = sessionRecord({ absoluteExpiresAt: cut - DAY });
        const live = sessionRecord({ idleExpiresAt: cut + 1, absoluteExpiresAt: null });
        for (const s of [revokedLongAgo, revokedRecently, idleEnded, absoluteEnded, live])
          await store.createSession(s);
        await store.recordEvent({
          id: "old",
          type: "t",
          userId: null,
          sessionId: null,
          at: cut - 1,
          detail: {},
        });
        await store.recordEvent({ id: "new", type: "t", userId: null, sessionId: null, at: cut, detail: {} });
        expect(await store.purge(cut)).toBe(3);
        expect(await store.findSession(revokedLongAgo.id)).toBeNull();
        expect(await store.findSession(idleEnded.id)).toBeNull();
        expect(await store.findSession(absoluteEnded.id)).toBeNull();
        expect(await store.findSession(revokedRecently.id)).not.toBeNull();
        expect(await store.findSession(live.id)).not.toBeNull();
        expect((await store.listEvents({ limit: 10 })).map((e) => e.id)).toEqual(["new"]);
      });
    });

    it("answers ping when ready, again and again, without changing anything a caller sees", async () => {
      await withStore(factory, async (store) => {
        await store.createUser(newUser("maryo", "u1"));
        const before = {
          users: await store.listUsers({ limit: 10 }),
          events: await store.listEvents({ limit: 10 }),
          keys: await store.listKeys(),
        };
        for (let i = 0; i < 3; i++) await expect(store.ping()).resolves.toBeUndefined();
        expect({
          users: await store.listUsers({ limit: 10 }),
          events: await store.listEvents({ limit: 10 }),
          keys: await store.listKeys(),
        }).toEqual(before);
      });
    });
  });
}
