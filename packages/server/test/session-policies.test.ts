import { GRANT_TYPE_HANDOFF } from "@prolong/protocol";
import { createProlong, type Prolong } from "@prolong/server";
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  bearer,
  FakeClock,
  ISSUER,
  login,
  PASSWORD,
  postToken,
  refreshCookieOf,
  refreshNative,
  refreshWeb,
  testApp,
  testStore,
} from "./fixtures.js";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
type App = Awaited<ReturnType<typeof testApp>>["app"];

const post = (app: App, url: string, payload: unknown, headers: Record<string, string> = admin) =>
  app.inject({ method: "POST", url, payload: payload as Record<string, unknown>, headers });

async function liveSessions(app: App, subject: string): Promise<string[]> {
  const page = await app.inject({
    method: "GET",
    url: `/admin/subjects/${subject}/sessions`,
    headers: admin,
  });
  return (page.json().sessions as { id: string }[]).map((s) => s.id).sort();
}

describe("device limits at the server", () => {
  it("refuses the sign-in over the limit with 409 session_limit, saying the limit only", async () => {
    const { app, user } = await testApp({
      profiles: { web: { maxSessions: { max: 2, onLimit: "refuse" } } },
    });
    await login(app, { device_name: "Laptop" });
    await login(app);
    const third = await app.inject({
      method: "POST",
      url: "/login",
      payload: { username: "maryo", password: PASSWORD },
    });
    expect(third.statusCode).toBe(409);
    expect(third.json()).toEqual({
      error: "session_limit",
      error_description: expect.stringContaining("at most 2"),
    });
    expect(third.body).not.toContain("Laptop");
    expect(third.headers["set-cookie"]).toBeUndefined();
    expect(await liveSessions(app, user.id)).toHaveLength(2);
    // The native profile has no limit.
    const native = await app.inject({
      method: "POST",
      url: "/login",
      payload: { username: "maryo", password: PASSWORD, client_id: "native" },
    });
    expect(native.statusCode).toBe(200);
  });

  it("evicts the least recently active session: its refresh fails, the newest sign-in works", async () => {
    const { app, user, clock } = await testApp({
      profiles: { web: { maxSessions: { max: 2, onLimit: "evict" } } },
    });
    const first = await login(app);
    clock.advance(5);
    const second = await login(app);
    clock.advance(5);
    const third = await login(app);
    const sessions = await liveSessions(app, user.id);
    expect(sessions).toEqual([second.body.session_id, third.body.session_id].sort());
    const stale = await refreshWeb(app, refreshCookieOf(first.response) as string);
    expect(stale.statusCode).toBe(400);
    expect(stale.json().prolong_error).toBe("session_revoked");
    const fresh = await refreshWeb(app, refreshCookieOf(third.response) as string);
    expect(fresh.statusCode).toBe(200);
    const evicted = await app.inject({
      method: "GET",
      url: `/admin/sessions/${first.body.session_id}`,
      headers: admin,
    });
    expect(evicted.json()).toMatchObject({ state: "revoked", revoked_reason: "evicted" });
    const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toContain('prolong_revocations_total{reason="evicted"} 1');
    const events = await app.inject({
      method: "GET",
      url: "/admin/events?type=session_evicted",
      headers: admin,
    });
    expect(events.json().events).toEqual([
      expect.objectContaining({ session_id: first.body.session_id, type: "session_evicted" }),
    ]);
  });

  it("refuses a profile setting that cannot work, naming it", async () => {
    await expect(
      testApp({ profiles: { web: { maxSessions: { max: 0, onLimit: "evict" } } } }),
    ).rejects.toThrow(/profiles\.web\.maxSessions\.max/);
    await expect(testApp({ profiles: { web: { maxSessions: { max: 3 } } } })).rejects.toThrow(
      /profiles\.web\.maxSessions\.onLimit/,
    );
  });
});

describe("step-up at the server", () => {
  it("POST /admin/sessions/{id}/step-up raises auth_time, acr and amr of the same session's next tokens", async () => {
    const { app, clock } = await testApp();
    const started = await post(app, "/admin/sessions", {
      user_id: "u-1",
      client_id: "native",
      acr: "urn:low",
      amr: ["pwd"],
    });
    expect(started.statusCode).toBe(200);
    const tokens = started.json();
    expect(decodeJwt(tokens.access_token)).toMatchObject({ acr: "urn:low", amr: ["pwd"] });
    const sid = decodeJwt(tokens.access_token).sid as string;
    clock.advance(300);
    const stepped = await post(app, `/admin/sessions/${sid}/step-up`, {
      acr: "urn:mfa",
      amr: ["pwd", "otp"],
    });
    expect(stepped.statusCode).toBe(200);
    // Nothing secret: the session and when it now counts as authenticated.
    expect(stepped.json()).toEqual({ session_id: sid, auth_time: Math.floor(clock.now() / 1000) });
    const next = await refreshNative(app, tokens.refresh_token);
    expect(decodeJwt(next.json().access_token)).toMatchObject({
      sid,
      acr: "urn:mfa",
      amr: ["pwd", "otp"],
      auth_time: Math.floor(clock.now() / 1000),
    });
    const view = await app.inject({ method: "GET", url: `/admin/sessions/${sid}`, headers: admin });
    expect(view.json()).toMatchObject({ acr: "urn:mfa", amr: ["pwd", "otp"], impersonated_by: null });
  });

  it("names a bad field, and answers 404 for a session that ended", async () => {
    const { app } = await testApp();
    const { body } = await login(app);
    const bad = await post(app, `/admin/sessions/${body.session_id}/step-up`, { acr: "two words" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error_description).toMatch(/^acr:/);
    const unknownField = await post(app, `/admin/sessions/${body.session_id}/step-up`, { level: 2 });
    expect(unknownField.statusCode).toBe(400);
    await app.inject({ method: "DELETE", url: `/admin/sessions/${body.session_id}`, headers: admin });
    const gone = await post(app, `/admin/sessions/${body.session_id}/step-up`, { acr: "urn:mfa" });
    expect(gone.statusCode).toBe(404);
  });

  it("a web client's handoff code carries acr and amr into the redeemed session's first access token", async () => {
    const { app } = await testApp();
    const created = await post(app, "/admin/sessions", {
      user_id: "u-2",
      acr: "urn:mfa",
      amr: ["pwd", "otp"],
    });
    expect(created.statusCode).toBe(200);
    expect(Object.keys(created.json()).sort()).toEqual(["expires_in", "handoff_code"]);
    const redeemed = await postToken(
      app,
      { grant_type: GRANT_TYPE_HANDOFF, code: created.json().handoff_code, client_id: "web" },
      { headers: { "prolong-csrf": "1" } },
    );
    expect(redeemed.statusCode).toBe(200);
    const claims = decodeJwt(redeemed.json().access_token);
    expect(claims).toMatchObject({ sub: "u-2", acr: "urn:mfa", amr: ["pwd", "otp"] });
    const view = await app.inject({ method: "GET", url: `/admin/sessions/${claims.sid}`, headers: admin });
    expect(view.json()).toMatchObject({ acr: "urn:mfa", amr: ["pwd", "otp"] });
    // Without them the session names neither, and its tokens carry neither claim.
    const plain = await post(app, "/admin/sessions", { user_id: "u-3" });
    const bare = await postToken(
      app,
      { grant_type: GRANT_TYPE_HANDOFF, code: plain.json().handoff_code, client_id: "web" },
      { headers: { "prolong-csrf": "1" } },
    );
    const bareClaims = decodeJwt(bare.json().access_token);
    expect(bareClaims).not.toHaveProperty("acr");
    expect(bareClaims).not.toHaveProperty("amr");
    // What a code carries is checked when it is made, naming the field.
    const bad = await post(app, "/admin/sessions", { user_id: "u-4", acr: "two words" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error_description).toMatch(/^acr:/);
  });
});

describe("step-up on createProlong's surfaces", () => {
  const built: Prolong[] = [];
  afterEach(async () => {
    await Promise.all(built.splice(0).map((p) => p.close()));
  });

  it("prolong.stepUp (any host) and the admin route through prolong.fetch (Fetch-API hosts)", async () => {
    const clock = new FakeClock();
    const prolong = await createProlong(
      { issuer: `${ISSUER}/auth`, adminToken: ADMIN_TOKEN },
      { store: await testStore(), engine: { clock }, logStream: { write: () => {} } },
    );
    built.push(prolong);
    const tokens = await prolong.engine.startSessionForSubject({
      subjectId: "u-3",
      clientId: "native",
      acr: "urn:low",
    });
    clock.advance(60);
    expect(await prolong.stepUp(tokens.sessionId, { acr: "urn:mfa" })).toEqual({
      sessionId: tokens.sessionId,
      authTime: Math.floor(clock.now() / 1000),
    });
    expect((await prolong.engine.findSession(tokens.sessionId))?.acr).toBe("urn:mfa");
    clock.advance(60);
    const answer = await prolong.fetch(
      new Request(`${ISSUER}/auth/admin/sessions/${tokens.sessionId}/step-up`, {
        method: "POST",
        headers: { ...admin, "content-type": "application/json" },
        body: JSON.stringify({ amr: ["hwk"] }),
      }),
    );
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({
      session_id: tokens.sessionId,
      auth_time: Math.floor(clock.now() / 1000),
    });
    const session = await prolong.engine.findSession(tokens.sessionId);
    expect(session).toMatchObject({ acr: "urn:mfa", amr: ["hwk"] });
    // startSession's options carry acr/amr too.
    const host = await prolong.startFetchSession(new Request(`${ISSUER}/login`), {
      subject: "u-4",
      client: "native",
      acr: "urn:mfa",
      amr: ["otp"],
    });
    expect(decodeJwt(host.body.access_token)).toMatchObject({ acr: "urn:mfa", amr: ["otp"] });
  });
});

describe("impersonation at the server", () => {
  async function impersonating(settings: Record<string, unknown> = {}) {
    const t = await testApp(settings);
    const own = await login(t.app, { client_id: "native" });
    const answer = await post(t.app, `/admin/subjects/${t.user.id}/impersonate`, {
      actor: "admin-7",
      ttl_seconds: 900,
      client_id: "native",
      device_name: "Support desk",
    });
    expect(answer.statusCode).toBe(200);
    return { ...t, own: own.body, acting: answer.json() as Record<string, string> };
  }

  it("answers tokens whose act names the administrator, verified with jose against the JWKS", async () => {
    const { app, acting, user } = await impersonating();
    const jwks = (await app.inject({ method: "GET", url: "/.well-known/jwks.json" })).json();
    const { payload } = await jwtVerify(acting.access_token as string, createLocalJWKSet(jwks), {
      issuer: ISSUER,
      audience: "prolong",
      currentDate: new Date(Date.UTC(2026, 0, 1)),
    });
    expect(payload.sub).toBe(user.id);
    expect(payload.act).toEqual({ sub: "admin-7" });
    // The user sees it in their list; administrators too.
    const mine = await app.inject({
      method: "GET",
      url: "/sessions",
      headers: bearer(acting.access_token as string),
    });
    expect(mine.json().sessions).toContainEqual(
      expect.objectContaining({ id: payload.sid, impersonated_by: "admin-7", device_name: "Support desk" }),
    );
    const events = await app.inject({ method: "GET", url: "/admin/events?type=signed_in", headers: admin });
    expect(events.json().events).toContainEqual(
      expect.objectContaining({
        session_id: payload.sid,
        detail: expect.objectContaining({ actor: "admin-7" }),
      }),
    );
  });

  it("refuses the user's own operations with 403 impersonation_forbidden, and changes nothing", async () => {
    const { app, acting, own, user } = await impersonating();
    const as = bearer(acting.access_token as string);
    const refusals = [
      await app.inject({
        method: "POST",
        url: "/password",
        headers: as,
        payload: { current_password: PASSWORD, new_password: "a brand new password" },
      }),
      await app.inject({ method: "DELETE", url: "/sessions", headers: as }),
      await app.inject({ method: "DELETE", url: `/sessions/${own.session_id}`, headers: as }),
      await app.inject({ method: "POST", url: "/logout", headers: as, payload: { everywhere: true } }),
      await post(app, "/admin/subjects/someone-else/impersonate", {
        actor: user.id,
        ttl_seconds: 60,
        client_id: "native",
        actor_token: acting.access_token,
      }),
    ];
    for (const refused of refusals) {
      expect(refused.statusCode, refused.body).toBe(403);
      expect(refused.json().error).toBe("impersonation_forbidden");
    }
    // The user's own session still works, and the password is unchanged.
    expect((await refreshNative(app, own.refresh_token as string)).statusCode).toBe(200);
    expect((await login(app)).response.statusCode).toBe(200);
    // Signing out of the impersonation itself is allowed.
    const out = await app.inject({ method: "POST", url: "/logout", headers: as, payload: {} });
    expect(out.statusCode).toBe(204);
  });

  it("ends at its time limit however often it refreshes, and the limit is capped", async () => {
    const { app, acting, clock, user } = await impersonating({ impersonation: { maxTtlSeconds: 1200 } });
    let refresh = acting.refresh_token as string;
    for (let i = 0; i < 4; i += 1) {
      clock.advance(200);
      const next = await refreshNative(app, refresh);
      expect(next.statusCode).toBe(200);
      expect(decodeJwt(next.json().access_token).act).toEqual({ sub: "admin-7" });
      refresh = next.json().refresh_token;
    }
    clock.advance(101);
    const ended = await refreshNative(app, refresh);
    expect(ended.statusCode).toBe(400);
    expect(ended.json().prolong_error).toBe("session_expired");
    const tooLong = await post(app, `/admin/subjects/${user.id}/impersonate`, {
      actor: "admin-7",
      ttl_seconds: 1201,
      client_id: "native",
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error_description).toMatch(/^ttlSeconds: .*1200/);
    await expect(testApp({ impersonation: { maxTtlSeconds: 0 } })).rejects.toThrow(
      /impersonation\.maxTtlSeconds/,
    );
  });
});
