import { policyOf, resolveConfig } from "@prolong/server";
import { describe, expect, it } from "vitest";
import {
  ACCESS_TOKEN_TYPE,
  bearer,
  claimsOf,
  exchangeToken,
  form,
  login,
  malleatedCopies,
  PASSWORD,
  postToken,
  RESOURCE_SECRET,
  refreshCookieOf,
  refreshNative,
  refreshWeb,
  TOKEN_EXCHANGE,
  testApp,
} from "./fixtures.js";

describe("login", () => {
  it("web: refresh token only in an httpOnly, Secure, SameSite=Strict cookie scoped to /oauth", async () => {
    const { app } = await testApp();
    const { response, body } = await login(app);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 300 });
    expect(body.access_token).toMatch(/^ey/);
    expect(body).not.toHaveProperty("refresh_token");
    expect(response.headers["cache-control"]).toBe("private, no-store");
    const cookie = String(response.headers["set-cookie"]);
    expect(cookie).toMatch(/^__Secure-prolong-rt=[A-Za-z0-9_-]{91};/);
    for (const attribute of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/oauth"])
      expect(cookie).toContain(attribute);
  });

  it("native: refresh token in the body, no cookie", async () => {
    const { app } = await testApp();
    const { response, body } = await login(app, { client_id: "native", device_name: "Maryo's iPad" });
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{91}$/);
    expect(response.headers["set-cookie"]).toBeUndefined();
  });

  it("answers 401 invalid_credentials for a wrong password or unknown user", async () => {
    const { app } = await testApp();
    for (const payload of [
      { username: "maryo", password: "wrong password" },
      { username: "nobody", password: PASSWORD },
    ]) {
      const response = await app.inject({ method: "POST", url: "/login", payload });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: "invalid_credentials" });
    }
  });

  it("refuses other content types (415), bodies over the limit (413) and missing fields (400)", async () => {
    const { app } = await testApp();
    const asForm = await app.inject({
      method: "POST",
      url: "/login",
      ...form({ username: "maryo", password: PASSWORD }),
    });
    expect(asForm.statusCode).toBe(415);
    const huge = await app.inject({
      method: "POST",
      url: "/login",
      payload: { username: "maryo", password: "x".repeat(20_000) },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toMatchObject({ error: "payload_too_large" });
    const missing = await app.inject({ method: "POST", url: "/login", payload: { username: "maryo" } });
    expect(missing.statusCode).toBe(400);
    const notJson = await app.inject({
      method: "POST",
      url: "/login",
      headers: { "content-type": "application/json" },
      payload: "{not json",
    });
    expect(notJson.statusCode).toBe(400);
  });

  it("refuses a login posted from a foreign origin (login CSRF)", async () => {
    const { app } = await testApp();
    const response = await app.inject({
      method: "POST",
      url: "/login",
      headers: { origin: "https://evil.example" },
      payload: { username: "maryo", password: PASSWORD },
    });
    expect(response.statusCode).toBe(403);
    const ours = await app.inject({
      method: "POST",
      url: "/login",
      headers: { origin: "https://auth.example.test" },
      payload: { username: "maryo", password: PASSWORD },
    });
    expect(ours.statusCode).toBe(200);
  });

  it("treats 127.0.0.1 and [::1] as the same origin as a localhost issuer, on the same port only", async () => {
    const { app } = await testApp({ issuer: "http://localhost:3000" });
    const from = (origin: string) =>
      app.inject({
        method: "POST",
        url: "/login",
        headers: { origin },
        payload: { username: "maryo", password: PASSWORD },
      });
    expect((await from("http://127.0.0.1:3000")).statusCode).toBe(200);
    expect((await from("http://[::1]:3000")).statusCode).toBe(200);
    expect((await from("http://127.0.0.1:4000")).statusCode).toBe(403);
  });

  it("rate-limits sign-in attempts per IP with 429 and Retry-After", async () => {
    const { app, clock } = await testApp({ rateLimits: { login: { max: 3, windowSeconds: 60 } } });
    const attempt = () =>
      app.inject({
        method: "POST",
        url: "/login",
        payload: { username: "maryo", password: "wrong password" },
      });
    for (let i = 0; i < 3; i++) expect((await attempt()).statusCode).toBe(401);
    const limited = await attempt();
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    clock.advance(61);
    expect((await attempt()).statusCode).toBe(401);
  });
});

describe("token endpoint: refresh (RFC 6749 §6)", () => {
  it("native: rotates and answers with a new refresh token, no-store", async () => {
    const { app } = await testApp();
    const { body } = await login(app, { client_id: "native" });
    const response = await refreshNative(app, body.refresh_token as string);
    expect(response.statusCode).toBe(200);
    expect(response.headers["cache-control"]).toBe("private, no-store");
    const next = response.json();
    expect(next.refresh_token).not.toBe(body.refresh_token);
    expect(next.token_type).toBe("Bearer");
  });

  it("web: takes the cookie with the anti-CSRF header and sets the successor cookie", async () => {
    const { app } = await testApp();
    const { response: signIn } = await login(app);
    const cookie = refreshCookieOf(signIn) as string;
    const response = await refreshWeb(app, cookie, { headers: { origin: "https://auth.example.test" } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).not.toHaveProperty("refresh_token");
    const next = refreshCookieOf(response);
    expect(next).toBeDefined();
    expect(next).not.toBe(cookie);
  });

  it("web: a straggler cookie gets an access token, no-store, and no Set-Cookie, so the newer cookie stays", async () => {
    const { app, clock } = await testApp();
    const { response: signIn } = await login(app);
    const first = refreshCookieOf(signIn) as string;
    const second = refreshCookieOf(await refreshWeb(app, first)) as string;
    const third = refreshCookieOf(await refreshWeb(app, second)) as string;
    clock.advance(29);
    // A request sent with the first cookie before the second was used arrives last.
    const late = await refreshWeb(app, first);
    expect(late.statusCode).toBe(200);
    expect(late.headers["cache-control"]).toBe("private, no-store");
    expect(late.headers["set-cookie"]).toBeUndefined();
    const body = late.json();
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 300 });
    expect(body).not.toHaveProperty("refresh_token");
    const sessions = await app.inject({
      method: "GET",
      url: "/sessions",
      headers: bearer(body.access_token),
    });
    expect(sessions.statusCode).toBe(200);
    // The session goes on with the newest cookie.
    const next = await refreshWeb(app, third);
    expect(next.statusCode).toBe(200);
    expect(refreshCookieOf(next)).toBeDefined();
    const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toContain('prolong_refreshes_total{outcome="straggler"} 1');
  });

  it("native: a straggler gets an access token and no refresh_token field; past the window it revokes", async () => {
    const { app, clock } = await testApp();
    const { body: signIn } = await login(app, { client_id: "native" });
    const first = signIn.refresh_token as string;
    const second = (await refreshNative(app, first)).json().refresh_token as string;
    const third = (await refreshNative(app, second)).json().refresh_token as string;
    const late = await refreshNative(app, first);
    expect(late.statusCode).toBe(200);
    expect(late.headers["cache-control"]).toBe("private, no-store");
    expect(late.json().access_token).toMatch(/^ey/);
    expect(late.json()).not.toHaveProperty("refresh_token");
    clock.advance(31);
    const reused = await refreshNative(app, first);
    expect(reused.json()).toMatchObject({ error: "invalid_grant", prolong_error: "reuse_detected" });
    expect((await refreshNative(app, third)).json()).toMatchObject({ prolong_error: "session_revoked" });
  });

  it("opens a presented refresh token once and hands the opened token to the engine", async () => {
    const { app, engine } = await testApp();
    const { body } = await login(app, { client_id: "native" });
    const presented: unknown[] = [];
    const refresh = engine.refresh.bind(engine);
    engine.refresh = (input) => {
      presented.push(input.refreshToken);
      return refresh(input);
    };
    const response = await refreshNative(app, body.refresh_token as string);
    expect(response.statusCode).toBe(200);
    expect(presented).toEqual([expect.objectContaining({ sessionId: body.session_id, generation: 0 })]);
  });

  it("web: a failure of ours answers 500 and leaves the cookie alone; a dead session clears it", async () => {
    const { app, store, user, engine } = await testApp();
    const { response: signIn } = await login(app);
    const cookie = refreshCookieOf(signIn) as string;
    const refresh = () => refreshWeb(app, cookie);
    // A bug or an unclassified driver error in the store, during the refresh's write.
    const rotate = store.sessions.rotate.bind(store.sessions);
    store.sessions.rotate = async () => {
      throw new Error("unexpected failure");
    };
    const failed = await refresh();
    expect(failed.statusCode).toBe(500);
    expect(failed.json()).toMatchObject({ error: "server_error" });
    expect(failed.headers["set-cookie"]).toBeUndefined();

    store.sessions.rotate = rotate;
    await engine.logoutEverywhere(user.id);
    const dead = await refresh();
    expect(dead.json()).toMatchObject({ error: "invalid_grant", prolong_error: "session_revoked" });
    expect(String(dead.headers["set-cookie"])).toMatch(/^__Secure-prolong-rt=;.*Max-Age=0/);
  });

  it("web: refuses a cookie request without the anti-CSRF header or from a foreign origin", async () => {
    const { app } = await testApp();
    const { response: signIn } = await login(app);
    const cookie = `__Secure-prolong-rt=${refreshCookieOf(signIn)}`;
    // Built by hand, not with refreshWeb: the first attempt leaves the anti-CSRF header out.
    const attempt = (headers: Record<string, string>) =>
      postToken(app, { grant_type: "refresh_token", client_id: "web" }, { headers: { cookie, ...headers } });
    expect((await attempt({})).statusCode).toBe(403);
    expect((await attempt({ "prolong-csrf": "1", origin: "https://evil.example" })).statusCode).toBe(403);
    expect((await attempt({ "prolong-csrf": "1" })).statusCode).toBe(200);
  });

  it("web: the client's refresh without the cookie is 204, no session and no error; others stay 400", async () => {
    const { app } = await testApp();
    const signedOut = await postToken(
      app,
      { grant_type: "refresh_token", client_id: "web" },
      { headers: { "prolong-csrf": "1" } },
    );
    expect(signedOut.statusCode).toBe(204);
    expect(signedOut.body).toBe("");
    expect(signedOut.headers["cache-control"]).toBe("private, no-store");
    expect(signedOut.headers["set-cookie"]).toBeUndefined();
    // Without the anti-CSRF header it is no cookie client's request (a form post): 400 as before.
    const formPost = await postToken(app, { grant_type: "refresh_token", client_id: "web" });
    expect(formPost.statusCode).toBe(400);
    expect(formPost.json()).toMatchObject({ error: "invalid_request" });
    const native = await postToken(app, { grant_type: "refresh_token", client_id: "native" });
    expect(native.statusCode).toBe(400);
    expect(native.json()).toMatchObject({
      error: "invalid_request",
      error_description: "refresh_token is required",
    });
    const unknown = await postToken(app, { grant_type: "refresh_token", client_id: "nope" });
    expect(unknown.statusCode).toBe(401);
  });

  it("maps every grant failure to RFC 6749 §5.2 invalid_grant with prolong's finer code", async () => {
    const { app, clock } = await testApp();
    const { body } = await login(app, { client_id: "native" });
    const refresh = (token: string) => refreshNative(app, token);
    await refresh(body.refresh_token as string);
    clock.advance(31);
    const reused = await refresh(body.refresh_token as string);
    expect(reused.statusCode).toBe(400);
    expect(reused.json()).toMatchObject({ error: "invalid_grant", prolong_error: "reuse_detected" });
    expect(typeof reused.json().error_description).toBe("string");
    const garbage = await refresh("garbage");
    expect(garbage.json()).toMatchObject({ error: "invalid_grant", prolong_error: "invalid_grant" });
  });

  it("requires grant_type and client_id, knows its clients, refuses other grants and JSON", async () => {
    const { app } = await testApp();
    const post = (fields: Record<string, string>) => postToken(app, fields);
    expect((await post({})).json()).toMatchObject({ error: "invalid_request" });
    expect((await post({ grant_type: "password" })).json()).toMatchObject({
      error: "unsupported_grant_type",
    });
    expect((await post({ grant_type: "refresh_token", refresh_token: "x" })).json()).toMatchObject({
      error: "invalid_request",
    });
    const unknown = await post({ grant_type: "refresh_token", refresh_token: "x", client_id: "nope" });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toMatchObject({ error: "invalid_client" });
    const json = await app.inject({
      method: "POST",
      url: "/oauth/token",
      payload: { grant_type: "refresh_token" },
    });
    expect(json.statusCode).toBe(415);
    expect(json.json()).toMatchObject({ error: "invalid_request" });
  });

  it("takes the form media type in any letter case and with parameters (RFC 9110 §8.3.1)", async () => {
    const { app } = await testApp();
    const { body } = await login(app, { client_id: "native" });
    const response = await app.inject({
      method: "POST",
      url: "/oauth/token",
      headers: { "content-type": "Application/X-WWW-Form-URLEncoded ; charset=UTF-8" },
      payload: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: body.refresh_token as string,
        client_id: "native",
      }).toString(),
    });
    expect(response.statusCode, response.body).toBe(200);
  });

  it("refuses repeated parameters (RFC 6749 §3.1)", async () => {
    const { app } = await testApp();
    const response = await app.inject({
      method: "POST",
      url: "/oauth/token",
      headers: form({}).headers,
      payload: "grant_type=refresh_token&grant_type=refresh_token&client_id=native",
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: "invalid_request" });
  });

  it("rate-limits refreshes of one session with 429 and Retry-After", async () => {
    const { app } = await testApp({ rateLimits: { grantsPerSession: { max: 2, windowSeconds: 60 } } });
    let token = (await login(app, { client_id: "native" })).body.refresh_token as string;
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await refreshNative(app, token);
      codes.push(response.statusCode);
      if (response.statusCode === 200) token = response.json().refresh_token;
      else expect(response.headers["retry-after"]).toBeDefined();
    }
    expect(codes).toEqual([200, 200, 429]);
    // Another session is not affected.
    const other = (await login(app, { client_id: "native" })).body.refresh_token as string;
    const response = await refreshNative(app, other);
    expect(response.statusCode).toBe(200);
  });
});

/** The web profile opted in to the exchange; the native one cannot be (no absolute lifetime). */
const exchangeOn = { profiles: { web: { exchange: true } } };

describe("token endpoint: stateless exchange (P10, RFC 8693)", () => {
  it("swaps a valid access token for a new one and no refresh token", async () => {
    const { app, clock } = await testApp(exchangeOn);
    const { body } = await login(app);
    clock.advance(100);
    const response = await exchangeToken(app, body.access_token as string);
    expect(response.statusCode).toBe(200);
    const next = response.json();
    expect(next).toMatchObject({
      token_type: "Bearer",
      issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
      session_id: body.session_id,
    });
    expect(next).not.toHaveProperty("refresh_token");
    expect(next.access_token).not.toBe(body.access_token);
  });

  it("refuses a missing subject token type and an expired token", async () => {
    const { app, clock } = await testApp(exchangeOn);
    const { body } = await login(app);
    const exchange = (fields: Record<string, string>) =>
      postToken(app, { grant_type: TOKEN_EXCHANGE, ...fields });
    expect((await exchange({ subject_token: body.access_token as string })).json().error).toBe(
      "invalid_request",
    );
    clock.advance(400);
    const expired = await exchange({
      subject_token: body.access_token as string,
      subject_token_type: ACCESS_TOKEN_TYPE,
    });
    expect(expired.json()).toMatchObject({ error: "invalid_grant", prolong_error: "token_expired" });
  });

  it("answers 400 unauthorized_client to a profile that did not opt in: a native token cannot be chained", async () => {
    const { app, clock } = await testApp();
    const native = (await login(app, { client_id: "native" })).body;
    const web = (await login(app)).body;
    clock.advance(100);
    for (const token of [native.access_token, web.access_token]) {
      const refused = await exchangeToken(app, token as string);
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({ error: "unauthorized_client" });
    }
  });

  it("is configured per profile, and refused on a profile without an absolute lifetime", () => {
    expect(policyOf(resolveConfig({ ...exchangeOn, store: "memory:" })).profiles.web?.exchange).toBe(true);
    expect(policyOf(resolveConfig({ store: "memory:" })).profiles.native?.exchange).toBe(false);
    expect(() => resolveConfig({ profiles: { native: { exchange: true } } })).toThrow(
      /profiles\.native\.exchange: needs an absoluteLifetime/,
    );
    expect(() => resolveConfig({ profiles: { web: { exchange: "yes" } } })).toThrow(
      /profiles\.web\.exchange/,
    );
  });

  it("lets an opted-in web client chain exchanges up to the absolute lifetime, not beyond", async () => {
    const { app, clock } = await testApp({ profiles: { web: { exchange: true, absoluteLifetime: 1800 } } });
    const first = (await login(app)).body;
    const limit = Math.floor(clock.now() / 1000) + 1800;
    let token = first.access_token as string;
    let exchanges = 0;
    let refusal: unknown = null;
    // An active client exchanging every 4 minutes; bounded loop: the limit is 7.5 such steps.
    for (let step = 0; step < 20 && refusal === null; step++) {
      clock.advance(240);
      const response = await exchangeToken(app, token);
      if (response.statusCode !== 200) {
        refusal = response.json();
        break;
      }
      token = response.json().access_token;
      expect(claimsOf(token).exp).toBeLessThanOrEqual(limit);
      exchanges++;
    }
    expect(exchanges).toBe(7);
    // The last token expired with the session's absolute limit: the chain ends there.
    expect(refusal).toMatchObject({ error: "invalid_grant", prolong_error: "token_expired" });
  });

  it("refuses a padded or non-canonical signature and a token 6 s past exp, as the verifier does", async () => {
    const { app, clock } = await testApp(exchangeOn);
    const { body } = await login(app);
    for (const malleated of malleatedCopies(body.access_token as string)) {
      const refused = await exchangeToken(app, malleated);
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({ error: "invalid_grant", prolong_error: "invalid_token" });
    }
    clock.advance(300 + 6);
    expect((await exchangeToken(app, body.access_token as string)).json()).toMatchObject({
      error: "invalid_grant",
      prolong_error: "token_expired",
    });
  });
});

describe("revocation (RFC 7009)", () => {
  it("answers 200 for unknown tokens and ends the session of a known one", async () => {
    const { app } = await testApp();
    const unknown = await app.inject({ method: "POST", url: "/oauth/revoke", ...form({ token: "nope" }) });
    expect(unknown.statusCode).toBe(200);
    const { body } = await login(app, { client_id: "native" });
    const revoked = await app.inject({
      method: "POST",
      url: "/oauth/revoke",
      ...form({ token: body.refresh_token as string, token_type_hint: "refresh_token" }),
    });
    expect(revoked.statusCode).toBe(200);
    const after = await refreshNative(app, body.refresh_token as string);
    expect(after.json()).toMatchObject({ error: "invalid_grant", prolong_error: "session_revoked" });
    const missing = await app.inject({ method: "POST", url: "/oauth/revoke", ...form({}) });
    expect(missing.statusCode).toBe(400);
  });
});

describe("introspection (RFC 7662)", () => {
  it("is for authenticated resource servers only, by Basic or Bearer", async () => {
    const { app, user } = await testApp();
    const { body } = await login(app);
    const introspect = (authorization?: string) =>
      app.inject({
        method: "POST",
        url: "/oauth/introspect",
        headers: { ...form({}).headers, ...(authorization ? { authorization } : {}) },
        payload: new URLSearchParams({ token: body.access_token as string }).toString(),
      });
    expect((await introspect()).statusCode).toBe(401);
    expect((await introspect(`Bearer wrong-secret-value`)).statusCode).toBe(401);
    const wrongClient = `Basic ${Buffer.from(`someone:${RESOURCE_SECRET}`).toString("base64")}`;
    expect((await introspect(wrongClient)).statusCode).toBe(401);
    const basic = await introspect(`Basic ${Buffer.from(`resource:${RESOURCE_SECRET}`).toString("base64")}`);
    expect(basic.statusCode).toBe(200);
    expect(basic.json()).toMatchObject({
      active: true,
      sub: user.id,
      sid: body.session_id,
      client_id: "web",
      token_type: "Bearer",
    });
    const viaBearer = await introspect(`Bearer ${RESOURCE_SECRET}`);
    expect(viaBearer.json().active).toBe(true);
  });

  it("calls a revoked session's token inactive", async () => {
    const { app } = await testApp();
    const { body } = await login(app);
    await app.inject({
      method: "POST",
      url: "/logout",
      headers: bearer(body.access_token as string),
      payload: {},
    });
    const response = await app.inject({
      method: "POST",
      url: "/oauth/introspect",
      headers: { ...form({}).headers, authorization: `Bearer ${RESOURCE_SECRET}` },
      payload: new URLSearchParams({ token: body.access_token as string }).toString(),
    });
    expect(response.json()).toEqual({ active: false });
  });
});
