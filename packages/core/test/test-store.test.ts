import { describe, expect, it } from "vitest";
import { storeKind, testStore } from "../../../testing/suite.js";

const T0 = Date.UTC(2026, 0, 1);

// Runs in every store project (vitest.config.ts), so each kind the suites run on is whole.
describe(`the test store of this run (${storeKind})`, () => {
  it("is whole and ready: every concern and ping", async () => {
    const store = await testStore();
    expect(store.kind).toBe(storeKind);
    await expect(store.ping()).resolves.toBeUndefined();
    expect(await store.sessions.ensureSubject("u1", T0)).toMatchObject({ id: "u1", tokenVersion: 0 });
    expect(
      await store.accounts.createAccount({
        subjectId: "u1",
        username: "maryo",
        passwordHash: null,
        createdAt: T0,
      }),
    ).not.toBeNull();
    expect(await store.keys.claimSecret("mac", "v1")).toBe("v1");
    await store.audit.record({
      id: "e1",
      type: "signed_in",
      subjectId: "u1",
      sessionId: null,
      at: T0,
      detail: {},
    });
    expect((await store.audit.list({ limit: 1 })).events).toHaveLength(1);
    expect((await store.limits.hit("k", 1000, T0)).count).toBe(1);
  });

  it("is fresh: nothing written to one shows in another", async () => {
    const first = await testStore();
    const second = await testStore();
    await first.sessions.ensureSubject("u1", T0);
    expect(await second.sessions.findSubject("u1")).toBeNull();
  });
});
