import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, bearer, login, refreshNative, testApp } from "./fixtures.js";

const admin = bearer(ADMIN_TOKEN);

describe("admin API", () => {
  it("does not exist when no admin token is configured", async () => {
    const { app } = await testApp({ adminToken: undefined });
    const response = await app.inject({ method: "GET", url: "/admin/users", headers: admin });
    expect(response.statusCode).toBe(404);
  });

  it("refuses a missing or wrong admin token", async () => {
    const { app } = await testApp();
    expect((await app.inject({ method: "GET", url: "/admin/users" })).statusCode).toBe(401);
    const wrong = await app.inject({
      method: "GET",
      url: "/admin/users",
      headers: bearer(`${ADMIN_TOKEN}x`),
    });
    expect(wrong.statusCode).toBe(401);
  });

  it("creates, lists, disables and enables users", async () => {
    const { app } = await testApp();
    const created = await app.inject({
      method: "POST",
      url: "/admin/users",
      headers: admin,
      payload: { username: "bob", password: "bob's password", claims: { roles: ["editor"] } },
    });
    expect(created.statusCode).toBe(201);
    const bob = created.json();
    expect(bob).toMatchObject({ username: "bob", disabled: false, claims: { roles: ["editor"] } });
    expect(JSON.stringify(bob)).not.toContain("scrypt");
    const duplicate = await app.inject({
      method: "POST",
      url: "/admin/users",
      headers: admin,
      payload: { username: "BOB" },
    });
    expect(duplicate.statusCode).toBe(409);

    const list = await app.inject({ method: "GET", url: "/admin/users", headers: admin });
    expect(list.json().users.map((u: { username: string }) => u.username)).toEqual(["bob", "maryo"]);

    const disabled = await app.inject({
      method: "POST",
      url: `/admin/users/${bob.id}/disable`,
      headers: admin,
    });
    expect(disabled.json().disabled).toBe(true);
    const signIn = await app.inject({
      method: "POST",
      url: "/login",
      payload: { username: "bob", password: "bob's password" },
    });
    expect(signIn.statusCode).toBe(403);
    await app.inject({ method: "POST", url: `/admin/users/${bob.id}/enable`, headers: admin });
    const again = await app.inject({
      method: "POST",
      url: "/login",
      payload: { username: "bob", password: "bob's password" },
    });
    expect(again.statusCode).toBe(200);
    // A user prolong never met is the application's user all the same (it used to be a
    // 404): disabling it creates it disabled, so a session for it is refused.
    const stranger = await app.inject({ method: "POST", url: "/admin/users/nobody/disable", headers: admin });
    expect(stranger.statusCode).toBe(200);
    expect(stranger.json()).toMatchObject({ id: "nobody", username: null, disabled: true });
    const refused = await app.inject({
      method: "POST",
      url: "/admin/sessions",
      headers: admin,
      payload: { user_id: "nobody", client_id: "native" },
    });
    expect(refused.json()).toMatchObject({ error: "user_disabled" });
  });

  it("requires re-auth, logs out everywhere, sets claims and passwords", async () => {
    const { app, user } = await testApp();
    const { body } = await login(app, { client_id: "native" });
    const refresh = (token: string) => refreshNative(app, token);

    const claims = await app.inject({
      method: "PUT",
      url: `/admin/users/${user.id}/claims`,
      headers: admin,
      payload: { roles: ["admin"] },
    });
    expect(claims.json().claims).toEqual({ roles: ["admin"] });
    const refreshed = await refresh(body.refresh_token as string);
    const payload = JSON.parse(
      Buffer.from(refreshed.json().access_token.split(".")[1], "base64url").toString(),
    );
    expect(payload.roles).toEqual(["admin"]);

    await app.inject({ method: "POST", url: `/admin/users/${user.id}/reauth`, headers: admin });
    const denied = await refresh(refreshed.json().refresh_token);
    expect(denied.json()).toMatchObject({ error: "invalid_grant", prolong_error: "reauth_required" });

    const fresh = await login(app, { client_id: "native" });
    const everywhere = await app.inject({
      method: "POST",
      url: `/admin/users/${user.id}/logout-everywhere`,
      headers: admin,
    });
    expect(everywhere.json().token_version).toBe(1);
    expect((await refresh(fresh.body.refresh_token as string)).json().prolong_error).toBe("session_revoked");

    const password = await app.inject({
      method: "PUT",
      url: `/admin/users/${user.id}/password`,
      headers: admin,
      payload: { password: "set by an admin" },
    });
    expect(password.statusCode).toBe(200);
    const signIn = await app.inject({
      method: "POST",
      url: "/login",
      payload: { username: "maryo", password: "set by an admin" },
    });
    expect(signIn.statusCode).toBe(200);
  });

  it("lists and revokes any user's sessions and creates sessions for a backend", async () => {
    const { app, user } = await testApp();
    const created = await app.inject({
      method: "POST",
      url: "/admin/sessions",
      headers: admin,
      payload: { user_id: user.id, client_id: "native", device_name: "from the backend" },
    });
    expect(created.statusCode).toBe(200);
    expect(created.json().refresh_token).toMatch(/^[A-Za-z0-9_-]{91}$/);
    const sessions = await app.inject({
      method: "GET",
      url: `/admin/users/${user.id}/sessions`,
      headers: admin,
    });
    expect(sessions.json().sessions).toEqual([expect.objectContaining({ device_name: "from the backend" })]);
    const revoke = await app.inject({
      method: "DELETE",
      url: `/admin/sessions/${created.json().session_id}`,
      headers: admin,
    });
    expect(revoke.statusCode).toBe(204);
    const events = await app.inject({ method: "GET", url: `/admin/users/${user.id}/events`, headers: admin });
    expect(events.json().events.map((e: { type: string }) => e.type)).toContain("session_revoked");
    const missing = await app.inject({ method: "DELETE", url: "/admin/sessions/nope", headers: admin });
    expect(missing.statusCode).toBe(404);
  });

  it("lists a user's security events, newest first, in the shape it always had", async () => {
    const { app, user, clock } = await testApp();
    const wrong = await app.inject({
      method: "POST",
      url: "/login",
      remoteAddress: "127.0.0.9",
      payload: { username: "maryo", password: "wrong password" },
    });
    expect(wrong.statusCode).toBe(401);
    clock.advance(1);
    const { body } = await login(app, { client_id: "native" });
    clock.advance(1);
    await app.inject({ method: "POST", url: `/admin/users/${user.id}/reauth`, headers: admin });
    clock.advance(1);
    await app.inject({ method: "POST", url: `/admin/users/${user.id}/logout-everywhere`, headers: admin });
    const { events } = (
      await app.inject({ method: "GET", url: `/admin/users/${user.id}/events`, headers: admin })
    ).json();
    // Newest first; the revocation and the version bump share a millisecond, so either comes first.
    const times = events.map((e: { at: string }) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    expect(events.map((e: { type: string }) => e.type).sort()).toEqual([
      "logout_everywhere",
      "reauth_required",
      "session_revoked",
      "sign_in_failed",
      "signed_in",
    ]);
    const byType = Object.fromEntries(events.map((e: { type: string }) => [e.type, e]));
    for (const event of events) {
      expect(Object.keys(event).sort()).toEqual(["at", "detail", "id", "sessionId", "type", "userId"]);
      expect(event.userId).toBe(user.id);
    }
    expect(byType.session_revoked).toMatchObject({
      sessionId: body.session_id,
      detail: { reason: "logout_everywhere" },
    });
    expect(byType.logout_everywhere).toMatchObject({ sessionId: null, detail: { version: 1 } });
    expect(byType.reauth_required).toMatchObject({ sessionId: null, detail: {} });
    expect(byType.signed_in).toMatchObject({
      sessionId: body.session_id,
      detail: { clientId: "native", ip: "127.0.0.1" },
    });
    expect(byType.sign_in_failed).toMatchObject({ sessionId: null, detail: { ip: "127.0.0.9" } });
  });

  it("rotates keys once the next key has been published for the JWKS max-age, or when forced", async () => {
    const { app, clock } = await testApp({ jwksMaxAge: 60 });
    const kids = async () =>
      (await app.inject({ method: "GET", url: "/.well-known/jwks.json" }))
        .json()
        .keys.map((k: { kid: string }) => k.kid);
    const listed = async () =>
      (await app.inject({ method: "GET", url: "/admin/keys", headers: admin })).json();
    const [active, next] = await kids();
    expect((await listed()).keys.map((k: { state: string }) => k.state)).toEqual(["active", "next"]);

    const rotate = (payload?: object) =>
      app.inject({
        method: "POST",
        url: "/admin/keys/rotate",
        headers: admin,
        ...(payload ? { payload } : {}),
      });
    const early = await rotate();
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ error: "rotation_too_early" });
    expect(early.json().error_description).toContain((await listed()).rotation_possible_at);

    // max-age plus the servers' reload and clock-skew allowance.
    clock.advance(70);
    const rotated = await rotate();
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().kid).toBe(next);
    const newNext = rotated.json().next;
    expect(await kids()).toEqual([next, newNext, active]);

    const forced = await rotate({ force: true });
    expect(forced.json().kid).toBe(newNext);
    expect((await listed()).keys.filter((k: { active: boolean }) => k.active)).toHaveLength(1);
    expect((await rotate({ force: "yes" })).statusCode).toBe(400);
  });
});
