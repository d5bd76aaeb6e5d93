import { defaultPolicy, ProlongError } from "@prolong/core";
import { describe, expect, it } from "vitest";
import { setup } from "./fixtures.js";

const login = { username: "maryo", password: "correct horse battery" };

async function codeOf(promise: Promise<unknown>): Promise<string | null> {
  return promise.then(
    () => null,
    (e: unknown) => (e instanceof ProlongError ? e.code : `not a ProlongError: ${String(e)}`),
  );
}

/** The web profile with the stateless exchange on, so every path can be tried. */
function exchangePolicy() {
  const policy = defaultPolicy();
  Object.assign(policy.profiles.web as object, { exchange: true });
  return policy;
}

describe("one standing rule on every path", () => {
  it("refuses a session whose subject must sign in again: refresh, exchange, bearer routes, introspection", async () => {
    const { engine, clock, user } = await setup({ policy: exchangePolicy() });
    const old = await engine.signIn(login);
    clock.advance(1);
    await engine.requireReauth(user.id);
    expect(await codeOf(engine.authenticate(old.accessToken))).toBe("reauth_required");
    expect(await codeOf(engine.exchange({ accessToken: old.accessToken }))).toBe("reauth_required");
    expect(await engine.introspect(old.accessToken)).toEqual({ active: false });
    expect(await engine.introspect(old.refreshToken)).toEqual({ active: false });
    expect(await codeOf(engine.refresh({ refreshToken: old.refreshToken, clientId: "web" }))).toBe(
      "reauth_required",
    );

    // A sign-in after the request is not affected, on any path.
    clock.advance(1);
    const fresh = await engine.signIn(login);
    expect((await engine.authenticate(fresh.accessToken)).session.id).toBe(fresh.sessionId);
    expect(await engine.introspect(fresh.accessToken)).toMatchObject({ active: true });
    expect(await engine.introspect(fresh.refreshToken)).toMatchObject({ active: true });
    await expect(engine.exchange({ accessToken: fresh.accessToken })).resolves.toBeTruthy();
  });

  it("refuses and ends a session that slipped past log out everywhere, whichever path meets it", async () => {
    const { engine, store, user, clock } = await setup({ policy: exchangePolicy() });
    const viaBearer = await engine.signIn(login);
    const viaExchange = await engine.signIn(login);
    const viaRefresh = await engine.signIn(login);
    // Another process's "log out everywhere" bumped the version; its bulk revocation has
    // not reached these sessions yet.
    await store.sessions.bumpTokenVersion(user.id, clock.now());
    expect(await engine.introspect(viaBearer.refreshToken)).toEqual({ active: false });
    expect(await engine.introspect(viaBearer.accessToken)).toEqual({ active: false });
    expect(await codeOf(engine.authenticate(viaBearer.accessToken))).toBe("session_revoked");
    expect(await codeOf(engine.exchange({ accessToken: viaExchange.accessToken }))).toBe("session_revoked");
    expect(await codeOf(engine.refresh({ refreshToken: viaRefresh.refreshToken, clientId: "web" }))).toBe(
      "session_revoked",
    );
    for (const { sessionId } of [viaBearer, viaExchange, viaRefresh]) {
      expect((await store.sessions.readSession(sessionId))?.session.revokedReason).toBe("logout_everywhere");
    }
  });

  it("tells a disabled user why on every path", async () => {
    const { engine, user } = await setup({ policy: exchangePolicy() });
    const a = await engine.signIn(login);
    await engine.disableSubject(user.id);
    expect(await codeOf(engine.authenticate(a.accessToken))).toBe("user_disabled");
    expect(await codeOf(engine.exchange({ accessToken: a.accessToken }))).toBe("user_disabled");
    expect(await codeOf(engine.refresh({ refreshToken: a.refreshToken, clientId: "web" }))).toBe(
      "user_disabled",
    );
    expect(await engine.introspect(a.accessToken)).toEqual({ active: false });
  });
});
