import { type EngineEvent, ProlongError, SECURITY_EVENT_TYPES } from "@prolong/core";
import { describe, expect, it } from "vitest";
import { setup } from "./fixtures.js";

const login = { username: "maryo", password: "correct horse battery" };

async function codeOf(promise: Promise<unknown>): Promise<string | null> {
  return promise.then(
    () => null,
    (e: unknown) => (e instanceof ProlongError ? e.code : `not a ProlongError: ${String(e)}`),
  );
}

describe("engine events", () => {
  it("record the security events an administrator reads back, with their details", async () => {
    const { engine, store, user, clock } = await setup();
    await codeOf(engine.signIn({ ...login, password: "wrong password", ip: "192.0.2.7" }));
    const a = await engine.signIn({ ...login, ip: "192.0.2.8" });
    await engine.refresh({ refreshToken: a.refreshToken, clientId: "web" });
    clock.advance(31);
    await codeOf(engine.refresh({ refreshToken: a.refreshToken, clientId: "web" }));
    await engine.requireReauth(user.id);
    await engine.setPassword(user.id, "set by an admin");
    await engine.logoutEverywhere(user.id);
    await engine.disableSubject(user.id);
    const { events } = await store.audit.list({ subjectId: user.id, limit: 100 });
    const byType = (type: string) => events.filter((e) => e.type === type);
    expect(byType("sign_in_failed")[0]).toMatchObject({ subjectId: user.id, detail: { ip: "192.0.2.7" } });
    expect(byType("signed_in")[0]).toMatchObject({
      sessionId: a.sessionId,
      detail: { clientId: "web", ip: "192.0.2.8" },
    });
    expect(byType("reuse_detected")[0]).toMatchObject({ sessionId: a.sessionId, detail: { generation: 0 } });
    expect(byType("session_revoked")[0]).toMatchObject({
      sessionId: a.sessionId,
      detail: { reason: "reuse" },
    });
    expect(byType("reauth_required")).toHaveLength(1);
    expect(byType("password_changed")[0]).toMatchObject({ sessionId: null, detail: { by: "admin" } });
    expect(byType("logout_everywhere")[0]).toMatchObject({ detail: { version: 1 } });
    expect(byType("user_disabled")).toHaveLength(1);
    // Routine traffic stays out of the log.
    expect(byType("refreshed")).toEqual([]);
    // The types an administrator may filter by are exactly those the log holds (a wrong
    // current password is covered by the server's tests, evictions and step-ups by
    // engine.session-policies.test.ts).
    const elsewhere = ["password_change_failed", "session_evicted", "stepped_up"];
    expect([...new Set(events.map((e) => e.type))].sort()).toEqual(
      SECURITY_EVENT_TYPES.filter((type) => !elsewhere.includes(type)).sort(),
    );
  });

  it("never let a failing listener fail the operation, and report every failure", async () => {
    const { engine } = await setup();
    const failures: { error: unknown; event: EngineEvent["type"] }[] = [];
    engine.onListenerFailure((error, event) => failures.push({ error, event: event.type }));
    engine.subscribe(() => {
      throw new Error("broken metrics");
    });
    const a = await engine.signIn(login);
    const b = await engine.refresh({ refreshToken: a.refreshToken, clientId: "web" });
    expect(b.session.generation).toBe(1);
    expect(failures.map((f) => f.event)).toEqual(["signed_in", "refreshed"]);
    expect(String(failures[0]?.error)).toContain("broken metrics");
  });

  it("report a security-event write that fails, and still give the operation's own answer", async () => {
    const { engine, store } = await setup();
    const failures: EngineEvent["type"][] = [];
    engine.onListenerFailure((_error, event) => failures.push(event.type));
    const down = new ProlongError("store_unavailable", "audit log is read-only");
    store.audit.record = async () => {
      throw down;
    };
    expect(await codeOf(engine.signIn({ ...login, password: "wrong password" }))).toBe("invalid_credentials");
    const a = await engine.signIn(login);
    await engine.logout(a.sessionId);
    expect(await codeOf(engine.refresh({ refreshToken: a.refreshToken, clientId: "web" }))).toBe(
      "session_revoked",
    );
    expect(failures).toEqual(["sign_in_failed", "signed_in", "session_revoked"]);
  });

  it("are written before the operation answers", async () => {
    const { engine, store, user } = await setup();
    const { record } = store.audit;
    // A slow log: the write finishes a few turns of the event loop later.
    store.audit.record = async (event) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await record.call(store.audit, event);
    };
    await engine.disableSubject(user.id);
    const { events } = await store.audit.list({ subjectId: user.id, limit: 10 });
    expect(events.map((e) => e.type)).toContain("user_disabled");
  });
});
