import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createAccount,
  DEVICE_COOKIE,
  FORM,
  REFRESH_COOKIE,
  RESOURCE_SECRET,
  rawRequest,
  readStoreSecrets,
  refresh,
  refreshCookieOf,
  type SignedIn,
  signIn,
  startTarget,
  type Target,
  tokenRequest,
} from "./target.js";

/**
 * A real server at PROLONG_LOG_LEVEL=debug, taken through everything a day brings (sign-in,
 * refresh, exchange, handoff, the sessions API, the admin API, the revocation feed) and
 * through failures (wrong passwords, replayed and garbage tokens, tokens where they do not
 * belong, bodies it refuses), while everything it writes is kept. No credential may appear
 * in any of it: not a refresh token, an access token, a password, a handoff code or key
 * material, nor the admin token or the resource secret.
 */

const PASSWORD = "first passphrase of alice";
const NEW_PASSWORD = "second passphrase of alice";
const ADMIN_SET_PASSWORD = "third passphrase, set by an admin";
const WRONG_PASSWORD = "a wrong guess at the passphrase";
const PASSWORD_IN_BAD_JSON = "passphrase inside malformed json";
const PASSWORD_IN_WRONG_TYPE = "passphrase sent as text/plain";
const HANDOFF = "urn:prolong:grant-type:handoff";
const EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
const basic = `Basic ${Buffer.from(`resource:${RESOURCE_SECRET}`).toString("base64")}`;

describe("the logs of a real server at debug level", () => {
  let target: Target;
  let written = "";
  /** Every credential the flow handled, by what it is. */
  const credentials = new Map<string, string>();
  const keep = (name: string, value: string | undefined) => {
    if (value) credentials.set(`${name} (${credentials.size})`, value);
  };

  beforeAll(async () => {
    target = await startTarget({ profiles: { web: { exchange: true } } }, { PROLONG_LOG_LEVEL: "debug" });
    // Kept from here on; stdout is kept by the helper from the start.
    target.server.child.stderr.on("data", (chunk) => {
      written += chunk;
    });
  }, 60_000);
  afterAll(() => target?.stop());

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const json = (token: string, body: unknown) => ({
    headers: { ...bearer(token), "content-type": "application/json" },
    body: JSON.stringify(body),
  });

  async function day(): Promise<void> {
    const aliceId = await createAccount(target, "alice", PASSWORD);
    for (const password of [
      PASSWORD,
      NEW_PASSWORD,
      ADMIN_SET_PASSWORD,
      WRONG_PASSWORD,
      PASSWORD_IN_BAD_JSON,
      PASSWORD_IN_WRONG_TYPE,
    ])
      keep("password", password);

    // Sign-in, native and web, and failures.
    const native = (await signIn(target, {
      username: "alice",
      password: PASSWORD,
      client_id: "native",
    })) as SignedIn & {
      refresh_token: string;
    };
    const web = await signIn(target, {
      username: "alice",
      password: PASSWORD,
      client_id: "web",
      device_name: "Laptop",
    });
    keep("access token", native.access_token);
    keep("refresh token", native.refresh_token);
    keep("access token", web.access_token);
    keep("refresh cookie", web.cookie);
    keep("device token", native.device_token);
    keep("device cookie", web.deviceCookie);
    // Device tokens sent back, in the body and in the cookie.
    const known = await signIn(
      target,
      { username: "alice", password: PASSWORD, device_token: native.device_token as string },
      { cookie: `${DEVICE_COOKIE}=${web.deviceCookie}` },
    );
    keep("access token", known.access_token);
    keep("refresh cookie", known.cookie);
    keep("device cookie", known.deviceCookie);
    const login = (username: string, password: string) =>
      fetch(`${target.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password }),
      });
    expect((await login("alice", WRONG_PASSWORD)).status).toBe(401);
    expect((await login("nobody", WRONG_PASSWORD)).status).toBe(401);

    // Refresh, native and through the cookie, then a replay of the first token.
    const renewed = await refresh(target, native.refresh_token);
    expect(renewed.status).toBe(200);
    const next = (await renewed.json()) as { access_token: string; refresh_token: string };
    keep("access token", next.access_token);
    keep("refresh token", next.refresh_token);
    const cookie = `${REFRESH_COOKIE}=${web.cookie}`;
    const viaCookie = await tokenRequest(
      target,
      { grant_type: "refresh_token", client_id: "web" },
      { cookie, "prolong-csrf": "1" },
    );
    expect(viaCookie.status).toBe(200);
    const webNext = (await viaCookie.json()) as { access_token: string };
    keep("access token", webNext.access_token);
    keep("refresh cookie", refreshCookieOf(viaCookie));
    const spare = (await signIn(target, {
      username: "alice",
      password: PASSWORD,
      client_id: "native",
    })) as SignedIn & {
      refresh_token: string;
    };
    keep("refresh token", spare.refresh_token);
    keep("access token", spare.access_token);
    const spareNext = (await (await refresh(target, spare.refresh_token)).json()) as {
      refresh_token: string;
    };
    keep("refresh token", spareNext.refresh_token);
    await refresh(target, (await (await refresh(target, spareNext.refresh_token)).json()).refresh_token);
    expect((await refresh(target, spare.refresh_token)).status).toBe(400); // reuse_detected
    expect((await refresh(target, "A".repeat(91))).status).toBe(400);

    // The stateless exchange (RFC 8693).
    const exchanged = await tokenRequest(target, {
      grant_type: EXCHANGE,
      subject_token: webNext.access_token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      client_id: "web",
    });
    expect(exchanged.status).toBe(200);
    keep("access token", ((await exchanged.json()) as { access_token: string }).access_token);

    // Handoff: the code, its redemption, its replay.
    const handoff = await target.admin("POST", "/sessions", {
      user_id: "user-42",
      device_name: "Handed off",
    });
    const { handoff_code } = (await handoff.json()) as { handoff_code: string };
    keep("handoff code", handoff_code);
    const redeem = () =>
      tokenRequest(
        target,
        { grant_type: HANDOFF, code: handoff_code, client_id: "web" },
        { "prolong-csrf": "1" },
      );
    const redeemed = await redeem();
    expect(redeemed.status).toBe(200);
    keep("access token", ((await redeemed.json()) as { access_token: string }).access_token);
    keep("refresh cookie", refreshCookieOf(redeemed));
    expect((await redeem()).status).toBe(400);

    // The sessions API, and a token where it does not belong.
    expect((await fetch(`${target.url}/sessions`, { headers: bearer(webNext.access_token) })).status).toBe(
      200,
    );
    const renamed = await fetch(`${target.url}/sessions/${web.session_id}`, {
      method: "PATCH",
      ...json(webNext.access_token, { device_name: "Renamed laptop" }),
    });
    expect(renamed.status).toBe(200);
    expect(
      (
        await fetch(`${target.url}/sessions/${native.session_id}`, {
          method: "DELETE",
          headers: bearer(webNext.access_token),
        })
      ).status,
    ).toBe(204);
    expect((await fetch(`${target.url}/sessions?access_token=${webNext.access_token}`)).status).toBe(400);
    expect(
      (await fetch(`${target.url}/sessions`, { headers: bearer(`${webNext.access_token.slice(0, -4)}AAAA`) }))
        .status,
    ).toBe(401);

    // Passwords: a wrong current one, then a change.
    const wrong = await fetch(`${target.url}/password`, {
      method: "POST",
      ...json(webNext.access_token, { current_password: WRONG_PASSWORD, new_password: NEW_PASSWORD }),
    });
    expect(wrong.status).toBe(403);
    const changed = await fetch(`${target.url}/password`, {
      method: "POST",
      ...json(webNext.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD }),
    });
    expect(changed.status).toBe(200);

    // Bodies refused with a secret inside.
    const badJson = await rawRequest(target.url, {
      method: "POST",
      path: "/login",
      headers: { "content-type": "application/json" },
      body: `{"username":"alice","password":"${PASSWORD_IN_BAD_JSON}"`,
    });
    expect(badJson.status).toBe(400);
    const wrongType = await rawRequest(target.url, {
      method: "POST",
      path: "/login",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ username: "alice", password: PASSWORD_IN_WRONG_TYPE }),
    });
    expect(wrongType.status).toBe(415);
    const repeated = await rawRequest(target.url, {
      method: "POST",
      path: "/oauth/token",
      headers: { "content-type": FORM },
      body: `grant_type=refresh_token&refresh_token=${next.refresh_token}&refresh_token=${next.refresh_token}&client_id=native`,
    });
    expect(repeated.status).toBe(400);
    const oversize = await rawRequest(target.url, {
      method: "POST",
      path: "/login",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password: NEW_PASSWORD, pad: "x".repeat(20_000) }),
    });
    expect(oversize.status).toBe(413);

    // Introspection and RFC 7009 revocation.
    for (const token of [webNext.access_token, next.refresh_token]) {
      const introspected = await fetch(`${target.url}/oauth/introspect`, {
        method: "POST",
        headers: { authorization: basic, "content-type": FORM },
        body: new URLSearchParams({ token }),
      });
      expect(introspected.status).toBe(200);
    }
    const revoked = await fetch(`${target.url}/oauth/revoke`, {
      method: "POST",
      headers: { "content-type": FORM },
      body: new URLSearchParams({ token: next.refresh_token, client_id: "native" }),
    });
    expect(revoked.status).toBe(200);

    // The admin API.
    for (const [method, path, body] of [
      ["GET", "/subjects?username=alice", undefined],
      ["GET", `/subjects/${aliceId}/sessions?state=all`, undefined],
      ["GET", "/events", undefined],
      ["GET", `/sessions/${web.session_id}`, undefined],
      ["GET", "/keys", undefined],
      ["POST", "/keys/rotate", { force: true }],
      ["PUT", `/subjects/${aliceId}/claims`, { roles: ["reader"] }],
      ["PUT", `/subjects/${aliceId}/password`, { password: ADMIN_SET_PASSWORD }],
      ["POST", `/subjects/${aliceId}/reauth`, undefined],
      ["POST", `/subjects/${aliceId}/disable`, undefined],
      ["POST", `/subjects/${aliceId}/enable`, undefined],
    ] as const) {
      expect((await target.admin(method, path, body)).status, `${method} ${path}`).toBe(200);
    }
    const native2 = await target.admin("POST", "/sessions", { user_id: "user-43", client_id: "native" });
    const started = (await native2.json()) as { access_token: string; refresh_token: string };
    keep("access token", started.access_token);
    keep("refresh token", started.refresh_token);

    // The revocation feed's first event, then sign-out.
    const feed = await fetch(`${target.url}/revocations/feed`, { headers: { authorization: basic } });
    const reader = feed.body?.getReader();
    await reader?.read();
    await reader?.cancel();
    const out = await fetch(`${target.url}/logout`, {
      method: "POST",
      ...json(started.access_token, { everywhere: true }),
    });
    expect(out.status).toBe(204);
  }

  it("hold no credential the flow handled, and no key material", async () => {
    await day();
    const stored = await readStoreSecrets(target);
    for (const key of stored.keys) keep("private key", JSON.parse(key.privateKey).d as string);
    keep("refresh-token MAC secret", stored.refreshTokenMac.toString("base64url"));
    keep("device-token MAC secret", stored.deviceTokenMac.toString("base64url"));
    keep("admin token", "admin-token-of-the-security-suite");
    keep("resource secret", RESOURCE_SECRET);
    await target.server.stop();
    const logs = `${target.server.stdout()}${written}`;

    // The log is there: a line for each request, at debug, the flow's every route among them.
    const lines = logs.split("\n").filter((line) => line.startsWith("{"));
    const paths = new Set(
      lines
        .filter((line) => line.includes('"msg":"incoming request"'))
        .map((line) =>
          (JSON.parse(line) as { req: { url: string } }).req.url.replace(
            /\/[A-Za-z0-9_-]{22}(?=\/|$)/g,
            "/:id",
          ),
        ),
    );
    expect([...paths].sort()).toEqual(
      [
        "/admin/events",
        "/admin/keys",
        "/admin/keys/rotate",
        "/admin/sessions",
        "/admin/sessions/:id",
        "/admin/subjects",
        "/admin/subjects/:id/claims",
        "/admin/subjects/:id/disable",
        "/admin/subjects/:id/enable",
        "/admin/subjects/:id/password",
        "/admin/subjects/:id/reauth",
        "/admin/subjects/:id/sessions",
        "/login",
        "/logout",
        "/oauth/introspect",
        "/oauth/revoke",
        "/oauth/token",
        "/password",
        "/revocations/feed",
        "/sessions",
        "/sessions/:id",
      ].sort(),
    );

    const found: string[] = [];
    for (const [name, value] of credentials) {
      expect(value.length, name).toBeGreaterThanOrEqual(16);
      if (logs.includes(value)) found.push(name);
      // A JWT's signature alone would be as bad as the whole token.
      const signature = value.split(".")[2];
      if (signature && logs.includes(signature)) found.push(`${name}: its signature`);
    }
    expect(found).toEqual([]);
    expect(logs).not.toMatch(/"d"\s*:\s*"/);
    expect(logs).not.toContain("scrypt$");
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);
  });
});
