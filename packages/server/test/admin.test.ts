import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, bearer, login, refreshNative, type TestApp, testApp } from "./fixtures.js";

const admin = bearer(ADMIN_TOKEN);

describe("admin API", () => {
  it("does not exist when no admin token is configured", async () => {
    const { app } = await testApp({ adminToken: undefined });
    const response = await app.inject({ method: "GET", url: "/admin/subjects", headers: admin });
    expect(response.statusCode).toBe(404);
  });

  it("refuses a missing or wrong admin token", async () => {
    const { app } = await testApp();
    expect((await app.inject({ method: "GET", url: "/admin/subjects" })).statusCode).toBe(401);
    const wrong = await app.inject({
      method: "GET",
      url: "/admin/subjects",
      headers: bearer(`${ADMIN_TOKEN}x`),
    });
    expect(wrong.statusCode).toBe(401);
  });

  it("creates, lists, disables and enables subjects with an account", async () => {
    const { app } = await testApp();
    const created = await app.inject({
      method: "POST",
      url: "/admin/subjects",
      headers: admin,
      payload: { username: "bob", password: "bob's password", claims: { roles: ["editor"] } },
    });
    expect(created.statusCode).toBe(201);
    const bob = created.json();
    expect(bob).toMatchObject({ username: "bob", disabled: false, claims: { roles: ["editor"] } });
    expect(JSON.stringify(bob)).not.toContain("scrypt");
    const duplicate = await app.inject({
      method: "POST",
      url: "/admin/subjects",
      headers: admin,
      payload: { username: "BOB" },
    });
    expect(duplicate.statusCode).toBe(409);

    const list = await app.inject({ method: "GET", url: "/admin/subjects", headers: admin });
    expect(list.json().subjects.map((u: { username: string }) => u.username)).toEqual(["bob", "maryo"]);

    const disabled = await app.inject({
      method: "POST",
      url: `/admin/subjects/${bob.id}/disable`,
      headers: admin,
    });
    expect(disabled.json().disabled).toBe(true);
    const signIn = await app.inject({
      method: "POST",
      url: "/login",
      payload: { username: "bob", password: "bob's password" },
    });
    expect(signIn.statusCode).toBe(403);
    await app.inject({ method: "POST", url: `/admin/subjects/${bob.id}/enable`, headers: admin });
    const again = await app.inject({
      method: "POST",
      url: "/login",
      payload: { username: "bob", password: "bob's password" },
    });
    expect(again.statusCode).toBe(200);
    // A user prolong never met is the application's user all the same (it used to be a
    // 404): disabling it creates it disabled, so a session for it is refused.
    const stranger = await app.inject({
      method: "POST",
      url: "/admin/subjects/nobody/disable",
      headers: admin,
    });
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

  it("refuses claims too large for an access token, naming claims", async () => {
    const { app, user } = await testApp();
    const blob = "x".repeat(5_000);
    const set = await app.inject({
      method: "PUT",
      url: `/admin/subjects/${user.id}/claims`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { blob },
    });
    expect(set.statusCode).toBe(400);
    expect(set.json()).toEqual({
      error: "invalid_request",
      error_description: "claims: at most 4096 bytes as JSON",
    });
    const created = await app.inject({
      method: "POST",
      url: "/admin/subjects",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { username: "bloated", claims: { blob } },
    });
    expect(created.statusCode).toBe(400);
    expect(created.json().error_description).toBe("claims: at most 4096 bytes as JSON");
  });

  it("requires re-auth, logs out everywhere, sets claims and passwords", async () => {
    const { app, user } = await testApp();
    const { body } = await login(app, { client_id: "native" });
    const refresh = (token: string) => refreshNative(app, token);

    const claims = await app.inject({
      method: "PUT",
      url: `/admin/subjects/${user.id}/claims`,
      headers: admin,
      payload: { roles: ["admin"] },
    });
    expect(claims.json().claims).toEqual({ roles: ["admin"] });
    const refreshed = await refresh(body.refresh_token as string);
    const payload = JSON.parse(
      Buffer.from(refreshed.json().access_token.split(".")[1], "base64url").toString(),
    );
    expect(payload.roles).toEqual(["admin"]);

    await app.inject({ method: "POST", url: `/admin/subjects/${user.id}/reauth`, headers: admin });
    const denied = await refresh(refreshed.json().refresh_token);
    expect(denied.json()).toMatchObject({ error: "invalid_grant", prolong_error: "reauth_required" });

    const fresh = await login(app, { client_id: "native" });
    const everywhere = await app.inject({
      method: "POST",
      url: `/admin/subjects/${user.id}/logout-everywhere`,
      headers: admin,
    });
    expect(everywhere.json().token_version).toBe(1);
    expect((await refresh(fresh.body.refresh_token as string)).json().prolong_error).toBe("session_revoked");

    const password = await app.inject({
      method: "PUT",
      url: `/admin/subjects/${user.id}/password`,
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

  it("lists and revokes any subject's sessions and creates sessions for a backend", async () => {
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
      url: `/admin/subjects/${user.id}/sessions`,
      headers: admin,
    });
    expect(sessions.json().sessions).toEqual([expect.objectContaining({ device_name: "from the backend" })]);
    const revoke = await app.inject({
      method: "DELETE",
      url: `/admin/sessions/${created.json().session_id}`,
      headers: admin,
    });
    expect(revoke.statusCode).toBe(204);
    const events = await app.inject({
      method: "GET",
      url: `/admin/subjects/${user.id}/events`,
      headers: admin,
    });
    expect(events.json().events.map((e: { type: string }) => e.type)).toContain("session_revoked");
    const missing = await app.inject({ method: "DELETE", url: "/admin/sessions/nope", headers: admin });
    expect(missing.statusCode).toBe(404);
  });

  it("lists a subject's security events, newest first, with their details", async () => {
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
    await app.inject({ method: "POST", url: `/admin/subjects/${user.id}/reauth`, headers: admin });
    clock.advance(1);
    await app.inject({ method: "POST", url: `/admin/subjects/${user.id}/logout-everywhere`, headers: admin });
    const { events } = (
      await app.inject({ method: "GET", url: `/admin/subjects/${user.id}/events`, headers: admin })
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
      expect(Object.keys(event).sort()).toEqual(["at", "detail", "id", "session_id", "subject_id", "type"]);
      expect(event.subject_id).toBe(user.id);
    }
    expect(byType.session_revoked).toMatchObject({
      session_id: body.session_id,
      detail: { reason: "logout_everywhere" },
    });
    expect(byType.logout_everywhere).toMatchObject({ session_id: null, detail: { version: 1 } });
    expect(byType.reauth_required).toMatchObject({ session_id: null, detail: {} });
    expect(byType.signed_in).toMatchObject({
      session_id: body.session_id,
      detail: { clientId: "native", ip: "127.0.0.1" },
    });
    expect(byType.sign_in_failed).toMatchObject({ session_id: null, detail: { ip: "127.0.0.9" } });
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

/** A GET at the admin API, with its token. */
async function get(app: TestApp["app"], url: string) {
  const response = await app.inject({ method: "GET", url, headers: admin });
  return { status: response.statusCode, body: response.json() };
}

/** A subject the application named, without an account, with one session of `client`. */
async function applicationSubject(t: TestApp, id: string, clientId = "native") {
  // As a backend with its own login starts it: the subject is created on first use.
  await t.store.sessions.ensureSubject(id, t.clock.now());
  return t.engine.startSessionForSubject({ subjectId: id, clientId, deviceName: "phone" });
}

describe("admin lookups", () => {
  it("finds a subject by username, in any case, and only that one", async () => {
    const t = await testApp();
    await t.engine.createAccount({ username: "bob" });
    const found = await get(t.app, "/admin/subjects?username=MARYO");
    expect(found.status).toBe(200);
    expect(found.body).toEqual({
      subjects: [
        {
          id: t.user.id,
          username: "maryo",
          disabled: false,
          token_version: 0,
          reauth_required_at: null,
          claims: { roles: ["reader"] },
          created_at: new Date(t.clock.now()).toISOString(),
        },
      ],
      next: null,
    });
    expect(await get(t.app, "/admin/subjects?username=nobody")).toEqual({
      status: 200,
      body: { subjects: [], next: null },
    });
  });

  it("pages through the subjects with an account, by username", async () => {
    const t = await testApp();
    for (const username of ["carol", "alice", "bob"]) await t.engine.createAccount({ username });
    await applicationSubject(t, "user-42");
    const first = await get(t.app, "/admin/subjects?limit=2");
    expect(first.body.subjects.map((s: { username: string }) => s.username)).toEqual(["alice", "bob"]);
    expect(first.body.next).toBe("bob");
    const second = await get(t.app, `/admin/subjects?limit=2&after=${first.body.next}`);
    // A subject without an account is found by id, not listed.
    expect(second.body.subjects.map((s: { username: string }) => s.username)).toEqual(["carol", "maryo"]);
    expect(second.body.next).toBeNull();
  });

  it("shows a subject that has no account, and acts on it", async () => {
    const t = await testApp();
    const session = await applicationSubject(t, "user-42");
    const shown = await get(t.app, "/admin/subjects/user-42");
    expect(shown).toEqual({
      status: 200,
      body: expect.objectContaining({ id: "user-42", username: null, disabled: false, token_version: 0 }),
    });
    const reauth = await t.app.inject({
      method: "POST",
      url: "/admin/subjects/user-42/reauth",
      headers: admin,
    });
    expect(reauth.json().reauth_required_at).toBe(new Date(t.clock.now()).toISOString());
    const everywhere = await t.app.inject({
      method: "POST",
      url: "/admin/subjects/user-42/logout-everywhere",
      headers: admin,
    });
    expect(everywhere.json().token_version).toBe(1);
    const ended = await get(t.app, `/admin/sessions/${session.sessionId}`);
    expect(ended.body).toMatchObject({ state: "revoked", revoked_reason: "logout_everywhere" });
    expect((await get(t.app, "/admin/subjects/user-43")).status).toBe(404);
    // A password needs a built-in account, which this subject has not.
    const password = await t.app.inject({
      method: "PUT",
      url: "/admin/subjects/user-42/password",
      headers: admin,
      payload: { password: "a long enough password" },
    });
    expect(password.json()).toEqual({
      error: "not_found",
      error_description: "no such subject, or it has no built-in account",
    });
  });

  it("lists a subject's sessions: live by default, all on request, by client, a page at a time", async () => {
    const t = await testApp();
    const started = [];
    for (const clientId of ["web", "native", "web", "native"]) {
      started.push(await applicationSubject(t, "user-42", clientId));
      t.clock.advance(1);
    }
    const [a, b, c, d] = started.map((s) => s.sessionId);
    await t.engine.revokeSession(null, d as string, "admin");
    const ids = (body: { sessions: { id: string }[] }) => body.sessions.map((s) => s.id);
    const url = "/admin/subjects/user-42/sessions";

    const live = await get(t.app, url);
    expect(ids(live.body)).toEqual([c, b, a]);
    expect(live.body.next).toBeNull();
    expect(live.body.sessions[0]).toEqual({
      id: c,
      subject_id: "user-42",
      client_id: "web",
      device_name: "phone",
      user_agent: null,
      ip: null,
      created_at: expect.any(String),
      auth_time: expect.any(String),
      last_active_at: expect.any(String),
      expires_at: expect.any(String),
      state: "live",
      revoked_at: null,
      revoked_reason: null,
      acr: null,
      amr: null,
      impersonated_by: null,
    });
    expect(ids((await get(t.app, `${url}?state=all`)).body)).toEqual([d, c, b, a]);
    expect(ids((await get(t.app, `${url}?client=native&state=all`)).body)).toEqual([d, b]);

    const first = await get(t.app, `${url}?limit=2`);
    expect(ids(first.body)).toEqual([c, b]);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await get(t.app, `${url}?limit=2&after=${encodeURIComponent(first.body.next)}`);
    expect(ids(second.body)).toEqual([a]);
    expect(second.body.next).toBeNull();

    expect(await get(t.app, "/admin/subjects/user-43/sessions")).toEqual({
      status: 404,
      body: { error: "not_found", error_description: "no such subject" },
    });
    expect((await get(t.app, `${url}?after=not-a-cursor`)).body).toEqual({
      error: "invalid_request",
      error_description: "after: not a page cursor of this session listing",
    });
  });

  it("shows any session by id, live, revoked or expired", async () => {
    const t = await testApp();
    const { body } = await login(t.app, { client_id: "native", device_name: "laptop" });
    const url = `/admin/sessions/${body.session_id}`;
    expect((await get(t.app, url)).body).toMatchObject({
      id: body.session_id,
      subject_id: t.user.id,
      client_id: "native",
      device_name: "laptop",
      ip: "127.0.0.1",
      state: "live",
    });
    // Past the native profile's idle timeout: ended, though never revoked.
    t.clock.advance(366 * 86_400);
    expect((await get(t.app, url)).body).toMatchObject({ state: "expired", revoked_at: null });
    expect(await get(t.app, "/admin/sessions/nope")).toEqual({
      status: 404,
      body: { error: "not_found", error_description: "no such session" },
    });
  });

  it("lists security events overall and of one subject, by type and session, a page at a time", async () => {
    const t = await testApp();
    const a = await applicationSubject(t, "user-42");
    t.clock.advance(1);
    const b = await applicationSubject(t, "user-42");
    t.clock.advance(1);
    await login(t.app);
    t.clock.advance(1);
    await t.engine.revokeSession(null, a.sessionId, "admin");
    const kinds = (body: { events: { type: string; session_id: string | null }[] }) =>
      body.events.map(
        (e) => `${e.type} ${e.session_id === a.sessionId ? "a" : e.session_id === b.sessionId ? "b" : "-"}`,
      );

    expect(kinds((await get(t.app, "/admin/subjects/user-42/events")).body)).toEqual([
      "session_revoked a",
      "signed_in b",
      "signed_in a",
    ]);
    expect(kinds((await get(t.app, "/admin/events?subject=user-42&type=signed_in")).body)).toEqual([
      "signed_in b",
      "signed_in a",
    ]);
    expect(kinds((await get(t.app, `/admin/events?session=${a.sessionId}`)).body)).toEqual([
      "session_revoked a",
      "signed_in a",
    ]);
    expect(
      kinds(
        (await get(t.app, `/admin/subjects/user-42/events?type=session_revoked&session=${b.sessionId}`)).body,
      ),
    ).toEqual([]);
    // Overall: maryo's sign-in too.
    const overall = await get(t.app, "/admin/events?type=signed_in");
    expect(overall.body.events.map((e: { subject_id: string }) => e.subject_id)).toEqual([
      t.user.id,
      "user-42",
      "user-42",
    ]);

    const seen: string[] = [];
    let after = "";
    for (let page = 0; page < 5; page++) {
      const { body } = await get(t.app, `/admin/events?limit=2${after}`);
      seen.push(...body.events.map((e: { id: string }) => e.id));
      if (body.next === null) break;
      after = `&after=${encodeURIComponent(body.next)}`;
    }
    // Every event once, newest first, across pages of two.
    const all = await get(t.app, "/admin/events");
    expect(all.body.events).toHaveLength(4);
    expect(seen).toEqual(all.body.events.map((e: { id: string }) => e.id));

    expect((await get(t.app, "/admin/subjects/user-43/events")).status).toBe(404);
    expect((await get(t.app, "/admin/events?after=12")).body).toEqual({
      error: "invalid_request",
      error_description: "after: not a page cursor of this audit log",
    });
  });
});

describe("admin query parameters are validated like bodies", () => {
  it.each([
    ["/admin/subjects?usernme=maryo", "usernme: unknown parameter"],
    ["/admin/subjects?username=", "username: must not be empty"],
    [
      "/admin/subjects?username=maryo&after=bob",
      "after: cannot be combined with username, which names one subject",
    ],
    ["/admin/subjects?limit=0", "limit: at least 1"],
    ["/admin/subjects?limit=501", "limit: at most 500"],
    ["/admin/subjects?limit=ten", "limit: must be a whole number from 1 to 500"],
    ["/admin/subjects?limit=-1", "limit: must be a whole number from 1 to 500"],
    ["/admin/subjects?limit=1&limit=2", "limit: given more than once"],
    ["/admin/subjects/x/sessions?state=dead", "state: must be one of live, all"],
    ["/admin/subjects/x/sessions?clients=web", "clients: unknown parameter"],
    ["/admin/subjects/x/events?subject=y", "subject: unknown parameter"],
    [
      "/admin/events?type=signed-in",
      expect.stringMatching(/^type: must be one of signed_in, sign_in_failed, /),
    ],
    ["/admin/events?user=x&limit=1000", "user: unknown parameter; limit: at most 500"],
    [`/admin/events?after=${"x".repeat(201)}`, "after: at most 200 characters"],
    ["/admin/subjects/x?verbose=1", "verbose: unknown parameter"],
    ["/admin/sessions/x?all=1", "all: unknown parameter"],
    ["/admin/keys?format=pem", "format: unknown parameter"],
  ])("%s: 400 naming the parameter", async (url, description) => {
    const { app } = await testApp();
    expect(await get(app, url)).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: description },
    });
  });

  it("refuses parameters on actions too, before acting", async () => {
    const { app, user } = await testApp();
    const response = await app.inject({
      method: "POST",
      url: `/admin/subjects/${user.id}/disable?confirm=yes`,
      headers: admin,
    });
    expect(response.json()).toEqual({
      error: "invalid_request",
      error_description: "confirm: unknown parameter",
    });
    expect((await get(app, `/admin/subjects/${user.id}`)).body.disabled).toBe(false);
  });

  it("checks the admin token before the parameters", async () => {
    const { app } = await testApp();
    const response = await app.inject({ method: "GET", url: "/admin/subjects?usernme=maryo" });
    expect(response.statusCode).toBe(401);
  });
});
