import { resolveConfig } from "@prolong/server";
import { createVerifier } from "@prolong/verify";
import { describe, expect, it, vi } from "vitest";
import { bearer, ISSUER, login, malleatedCopies, PASSWORD, testApp } from "./fixtures.js";

describe("bearer-protected routes (RFC 6750)", () => {
  it("challenge without an error attribute when no credentials were sent", async () => {
    const { app } = await testApp();
    const response = await app.inject({ method: "GET", url: "/sessions" });
    expect(response.statusCode).toBe(401);
    expect(response.headers["www-authenticate"]).toBe('Bearer realm="prolong"');
  });

  it("tell an invalid token from an expired one", async () => {
    const { app, clock } = await testApp();
    const { body } = await login(app);
    const forged = `${(body.access_token as string).slice(0, -4)}AAAA`;
    const invalid = await app.inject({ method: "GET", url: "/sessions", headers: bearer(forged) });
    expect(invalid.statusCode).toBe(401);
    expect(invalid.headers["www-authenticate"]).toContain(
      'error="invalid_token", error_description="invalid"',
    );
    clock.advance(400);
    const expired = await app.inject({
      method: "GET",
      url: "/sessions",
      headers: bearer(body.access_token as string),
    });
    expect(expired.headers["www-authenticate"]).toContain(
      'error="invalid_token", error_description="expired"',
    );
  });

  it("refuse what @prolong/verify refuses: padded or non-canonical signatures, 6 s past exp", async () => {
    const { app, clock } = await testApp();
    const { body } = await login(app);
    const token = body.access_token as string;
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: "prolong",
      keys: (await app.inject({ method: "GET", url: "/.well-known/jwks.json" })).json().keys,
      now: () => clock.now(),
    });
    for (const malleated of malleatedCopies(token)) {
      expect((await verifier.verify(malleated)).ok).toBe(false);
      const response = await app.inject({ method: "GET", url: "/sessions", headers: bearer(malleated) });
      expect(response.statusCode).toBe(401);
      expect(response.headers["www-authenticate"]).toContain(
        'error="invalid_token", error_description="invalid"',
      );
    }
    // Both use the one default tolerance of 5 s.
    clock.advance(300 + 4);
    expect((await verifier.verify(token)).ok).toBe(true);
    expect((await app.inject({ method: "GET", url: "/sessions", headers: bearer(token) })).statusCode).toBe(
      200,
    );
    clock.advance(2);
    expect(await verifier.verify(token)).toMatchObject({ ok: false, code: "expired" });
    const expired = await app.inject({ method: "GET", url: "/sessions", headers: bearer(token) });
    expect(expired.statusCode).toBe(401);
    expect(expired.headers["www-authenticate"]).toContain('error_description="expired"');
  });

  it("take their clock tolerance from the clockTolerance setting", async () => {
    const { app, clock } = await testApp({ clockTolerance: 60 });
    const { body } = await login(app);
    clock.advance(300 + 59);
    const late = await app.inject({
      method: "GET",
      url: "/sessions",
      headers: bearer(body.access_token as string),
    });
    expect(late.statusCode).toBe(200);
    clock.advance(2);
    const expired = await app.inject({
      method: "GET",
      url: "/sessions",
      headers: bearer(body.access_token as string),
    });
    expect(expired.statusCode).toBe(401);
    expect(() => resolveConfig({ clockTolerance: 301 })).toThrow(/clockTolerance/);
    expect(() => resolveConfig({ clockTolerance: -1 })).toThrow(/clockTolerance/);
  });

  it("refuse a token in the query string", async () => {
    const { app } = await testApp();
    const { body } = await login(app);
    const response = await app.inject({ method: "GET", url: `/sessions?access_token=${body.access_token}` });
    expect(response.statusCode).toBe(400);
    expect(response.headers["www-authenticate"]).toContain('error="invalid_request"');
  });

  it("stop accepting a token as soon as its session is revoked", async () => {
    const { app } = await testApp();
    const { body } = await login(app);
    const token = body.access_token as string;
    expect(
      (await app.inject({ method: "POST", url: "/logout", headers: bearer(token), payload: {} })).statusCode,
    ).toBe(204);
    const after = await app.inject({ method: "GET", url: "/sessions", headers: bearer(token) });
    expect(after.statusCode).toBe(401);
    expect(after.headers["www-authenticate"]).toContain('error="invalid_token"');
  });
});

describe("verified tokens remembered by the bearer routes", () => {
  it("never answer a revoked session or a bumped token version from the cache", async () => {
    const { app, engine, store, user, clock } = await testApp();
    const a = await login(app);
    const b = await login(app);
    const c = await login(app);
    const sessions = (token: string) =>
      app.inject({ method: "GET", url: "/sessions", headers: bearer(token) });
    const findKey = vi.spyOn(engine.keys, "find");
    for (let i = 0; i < 3; i++) expect((await sessions(a.body.access_token as string)).statusCode).toBe(200);
    // Verified once, then remembered.
    expect(findKey).toHaveBeenCalledTimes(1);

    // Revoked from another device: refused on the next call.
    const revoked = await app.inject({
      method: "DELETE",
      url: `/sessions/${a.body.session_id}`,
      headers: bearer(b.body.access_token as string),
    });
    expect(revoked.statusCode).toBe(204);
    const refused = await sessions(a.body.access_token as string);
    expect(refused.statusCode).toBe(401);
    expect(refused.headers["www-authenticate"]).toContain('error="invalid_token"');

    // The subject's token version passes the token's `ver`: refused on the next call.
    expect((await sessions(c.body.access_token as string)).statusCode).toBe(200);
    await store.sessions.bumpTokenVersion(user.id, clock.now());
    expect((await sessions(c.body.access_token as string)).statusCode).toBe(401);
  });
});

describe("the standing of the caller's session", () => {
  it("is checked on bearer routes as on refresh: a re-auth request or a disabled user shuts them at once", async () => {
    const { app, engine, clock, user } = await testApp();
    const { body } = await login(app);
    const sessions = (token: string) =>
      app.inject({ method: "GET", url: "/sessions", headers: bearer(token) });
    expect((await sessions(body.access_token as string)).statusCode).toBe(200);
    clock.advance(1);
    await engine.requireReauth(user.id);
    const refused = await sessions(body.access_token as string);
    expect(refused.statusCode).toBe(401);
    expect(refused.headers["www-authenticate"]).toContain('error="invalid_token"');

    clock.advance(1);
    const fresh = await login(app);
    expect((await sessions(fresh.body.access_token as string)).statusCode).toBe(200);
    await engine.disableSubject(user.id);
    expect((await sessions(fresh.body.access_token as string)).statusCode).toBe(401);
  });
});

describe("devices (P7)", () => {
  it("lists the caller's sessions, marking the current one, without secrets", async () => {
    const { app, clock } = await testApp();
    await login(app, { device_name: "phone" });
    // Newest first; sessions created in the same millisecond come in any order (the store contract).
    clock.advance(1);
    const { body } = await login(app, { device_name: "laptop" });
    const response = await app.inject({
      method: "GET",
      url: "/sessions",
      headers: bearer(body.access_token as string),
    });
    const { sessions } = response.json();
    expect(
      sessions.map((s: { device_name: string; current: boolean }) => [s.device_name, s.current]),
    ).toEqual([
      ["laptop", true],
      ["phone", false],
    ]);
    expect(JSON.stringify(sessions)).not.toMatch(/hash|generation/i);
  });

  it("renames, revokes one, and revokes all others", async () => {
    const { app } = await testApp();
    const a = await login(app, { device_name: "a" });
    const b = await login(app, { device_name: "b" });
    const c = await login(app, { device_name: "c" });
    const auth = bearer(c.body.access_token as string);
    const renamed = await app.inject({
      method: "PATCH",
      url: `/sessions/${a.body.session_id}`,
      headers: auth,
      payload: { device_name: "Maryo's iPad" },
    });
    expect(renamed.json()).toMatchObject({ device_name: "Maryo's iPad" });
    const badRename = await app.inject({
      method: "PATCH",
      url: `/sessions/${a.body.session_id}`,
      headers: auth,
      payload: {},
    });
    expect(badRename.statusCode).toBe(400);

    const revoke = await app.inject({
      method: "DELETE",
      url: `/sessions/${b.body.session_id}`,
      headers: auth,
    });
    expect(revoke.statusCode).toBe(204);
    const again = await app.inject({
      method: "DELETE",
      url: `/sessions/${b.body.session_id}`,
      headers: auth,
    });
    expect(again.statusCode).toBe(404);

    const others = await app.inject({ method: "DELETE", url: "/sessions", headers: auth });
    expect(others.json()).toEqual({ revoked: 1 });
    const list = await app.inject({ method: "GET", url: "/sessions", headers: auth });
    expect(list.json().sessions.map((s: { id: string }) => s.id)).toEqual([c.body.session_id]);
  });

  it("never reaches another user's session", async () => {
    const { app, engine } = await testApp();
    const mine = await login(app);
    await engine.createAccount({ username: "eve", password: "eve's password" });
    const eve = await app.inject({
      method: "POST",
      url: "/login",
      payload: { username: "eve", password: "eve's password" },
    });
    const response = await app.inject({
      method: "DELETE",
      url: `/sessions/${mine.body.session_id}`,
      headers: bearer(eve.json().access_token),
    });
    expect(response.statusCode).toBe(404);
  });

  it("logs out everywhere on request", async () => {
    const { app } = await testApp();
    const a = await login(app);
    const b = await login(app);
    const response = await app.inject({
      method: "POST",
      url: "/logout",
      headers: bearer(b.body.access_token as string),
      payload: { everywhere: true },
    });
    expect(response.statusCode).toBe(204);
    expect(String(response.headers["set-cookie"])).toContain("Max-Age=0");
    const after = await app.inject({
      method: "GET",
      url: "/sessions",
      headers: bearer(a.body.access_token as string),
    });
    expect(after.statusCode).toBe(401);
  });
});

describe("password change", () => {
  it("needs the current password (403, not 401) and ends the other sessions", async () => {
    const { app } = await testApp();
    const other = await login(app);
    const current = await login(app);
    const auth = bearer(current.body.access_token as string);
    const wrong = await app.inject({
      method: "POST",
      url: "/password",
      headers: auth,
      payload: { current_password: "nope nope", new_password: "a brand new passphrase" },
    });
    expect(wrong.statusCode).toBe(403);
    const weak = await app.inject({
      method: "POST",
      url: "/password",
      headers: auth,
      payload: { current_password: PASSWORD, new_password: "short" },
    });
    expect(weak.statusCode).toBe(400);
    const ok = await app.inject({
      method: "POST",
      url: "/password",
      headers: auth,
      payload: { current_password: PASSWORD, new_password: "a brand new passphrase" },
    });
    expect(ok.json()).toEqual({ revoked_other_sessions: 1 });
    const otherAfter = await app.inject({
      method: "GET",
      url: "/sessions",
      headers: bearer(other.body.access_token as string),
    });
    expect(otherAfter.statusCode).toBe(401);
    expect((await app.inject({ method: "GET", url: "/sessions", headers: auth })).statusCode).toBe(200);
  });
});

describe("the demo API", () => {
  it("does not exist unless demo mode is on", async () => {
    const { app } = await testApp({}, { publicDir: "/nonexistent" });
    const { body } = await login(app);
    const hello = await app.inject({
      method: "GET",
      url: "/demo/api/hello",
      headers: bearer(body.access_token as string),
    });
    expect(hello.statusCode).toBe(404);
    expect((await app.inject({ method: "GET", url: "/" })).statusCode).toBe(404);
  });

  it("signals soft expiry once rfa has passed (P11)", async () => {
    const { app, clock } = await testApp({ demo: true });
    const { body } = await login(app);
    const call = () =>
      app.inject({ method: "GET", url: "/demo/api/hello", headers: bearer(body.access_token as string) });
    const early = await call();
    expect(early.statusCode).toBe(200);
    expect(early.headers["prolong-refresh"]).toBeUndefined();
    clock.advance(241);
    const late = await call();
    expect(late.statusCode).toBe(200);
    expect(late.headers["prolong-refresh"]).toBe("soon");
  });
});
