import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { buildApp, engineFor } from "@prolong/server";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  bearer,
  login,
  postToken,
  refreshCookieOf,
  refreshWeb,
  type TestApp,
  testApp,
} from "./fixtures.js";

/*
 * Device Bound Session Credentials at the HTTP level (docs/bound-sessions.md, "Browsers:
 * DBSC"), with proofs made here as a browser makes them: a compact JWS, ES256 with a
 * P-256 key, raw r‖s signature. Chromium itself is driven in e2e/dbsc-browser.test.ts.
 */

const LIFETIME = 60;
const BOUND = "__Host-prolong-dbsc";
const DBSC = { profiles: { web: { dbsc: { enabled: true, cookieLifetimeSeconds: LIFETIME } } } };

interface DeviceKey {
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function deviceKey(): DeviceKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, jwk: publicKey.export({ format: "jwk" }) as Record<string, unknown> };
}

const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A proof as the browser makes one: at registration with its public key in the header. */
function proof(
  key: DeviceKey,
  jti: string,
  options: { withKey?: boolean; header?: Record<string, unknown>; signer?: KeyObject } = {},
): string {
  const header = {
    alg: "ES256",
    typ: "dbsc+jwt",
    ...(options.withKey ? { jwk: key.jwk } : {}),
    ...options.header,
  };
  const input = `${part(header)}.${part({ jti })}`;
  const signature = sign("sha256", Buffer.from(input), {
    key: options.signer ?? key.privateKey,
    dsaEncoding: "ieee-p1363",
  });
  return `${input}.${signature.toString("base64url")}`;
}

/** The challenge a `Secure-Session-Registration` header carries. */
function registrationChallenge(response: LightMyRequestResponse): string {
  const header = String(response.headers["secure-session-registration"]);
  const match = /^\(ES256\);path="\/dbsc\/register";challenge="([^"]+)"$/.exec(header);
  if (!match) throw new Error(`not a registration header: ${header}`);
  return match[1] as string;
}

const register = (app: FastifyInstance, response?: string) =>
  app.inject({
    method: "POST",
    url: "/dbsc/register",
    headers: response === undefined ? {} : { "secure-session-response": response },
  });

const refreshBinding = (app: FastifyInstance, sessionId: string, response?: string) =>
  app.inject({
    method: "POST",
    url: "/dbsc/refresh",
    headers: {
      "sec-secure-session-id": sessionId,
      ...(response === undefined ? {} : { "secure-session-response": response }),
    },
  });

/** The bound cookie's value in a `Set-Cookie`, with its attributes checked. */
function boundCookieOf(response: LightMyRequestResponse): string {
  const line = [response.headers["set-cookie"] ?? []].flat().find((c) => c.startsWith(`${BOUND}=`));
  expect(line).toMatch(
    new RegExp(`^${BOUND}=[^;]+; Max-Age=${LIFETIME}; Path=/; Secure; HttpOnly; SameSite=Lax$`),
  );
  return (line as string).split(";")[0]?.slice(BOUND.length + 1) as string;
}

/** A signed-in browser that registered `key`: its session, refresh cookie and bound cookie. */
async function boundSession(t: TestApp, key = deviceKey()) {
  const { response, body } = await login(t.app);
  const registered = await register(t.app, proof(key, registrationChallenge(response), { withKey: true }));
  expect(registered.statusCode).toBe(200);
  return {
    key,
    sessionId: body.session_id as string,
    refresh: refreshCookieOf(response) as string,
    bound: boundCookieOf(registered),
  };
}

/** A web refresh with the refresh cookie and, when given, the bound cookie. */
function refreshWithBound(app: FastifyInstance, refresh: string, bound?: string) {
  const cookie = `__Secure-prolong-rt=${refresh}${bound === undefined ? "" : `; ${BOUND}=${bound}`}`;
  return postToken(
    app,
    { grant_type: "refresh_token", client_id: "web" },
    { headers: { cookie, "prolong-csrf": "1" } },
  );
}

describe("DBSC registration", () => {
  it("is off by default: a sign-in asks no browser to register", async () => {
    const { app } = await testApp();
    const { response } = await login(app);
    expect(response.headers["secure-session-registration"]).toBeUndefined();
  });

  it("is asked for at sign-in and at handoff redemption when the web profile has it on", async () => {
    const { app } = await testApp({ ...DBSC, adminToken: ADMIN_TOKEN });
    registrationChallenge((await login(app)).response);
    const created = await app.inject({
      method: "POST",
      url: "/admin/sessions",
      headers: bearer(ADMIN_TOKEN),
      payload: { user_id: "user-42" },
    });
    const redeemed = await postToken(
      app,
      { grant_type: "urn:prolong:grant-type:handoff", code: created.json().handoff_code, client_id: "web" },
      { headers: { "prolong-csrf": "1" } },
    );
    expect(redeemed.statusCode).toBe(200);
    registrationChallenge(redeemed);
    // Apps (the native profile) have no cookie to bind.
    const native = await login(app, { client_id: "native" });
    expect(native.response.headers["secure-session-registration"]).toBeUndefined();
  });

  it("stores the browser's key with the session, sets the bound cookie and answers the session configuration", async () => {
    const t = await testApp(DBSC);
    const { response, body } = await login(t.app);
    const key = deviceKey();
    const registered = await register(t.app, proof(key, registrationChallenge(response), { withKey: true }));
    expect(registered.statusCode).toBe(200);
    expect(registered.headers["cache-control"]).toBe("private, no-store");
    boundCookieOf(registered);
    expect(registered.json()).toEqual({
      session_identifier: body.session_id,
      refresh_url: "/dbsc/refresh",
      scope: { origin: "https://auth.example.test", include_site: false, scope_specification: [] },
      credentials: [{ type: "cookie", name: BOUND, attributes: "Path=/; Secure; HttpOnly; SameSite=Lax" }],
    });
    const { kty, crv, x, y } = key.jwk;
    const session = await t.engine.findSession(body.session_id as string);
    expect(JSON.parse(session?.deviceKey as string)).toEqual({ kty, crv, x, y });
  });

  it("takes each challenge once", async () => {
    const t = await testApp(DBSC);
    const { response } = await login(t.app);
    const challenge = registrationChallenge(response);
    const key = deviceKey();
    expect((await register(t.app, proof(key, challenge, { withKey: true }))).statusCode).toBe(200);
    const again = await register(t.app, proof(deviceKey(), challenge, { withKey: true }));
    expect(again.statusCode).toBe(400);
    expect(again.json()).toMatchObject({
      error: "invalid_dbsc_proof",
      error_description: expect.stringMatching(/answered already/),
    });
  });

  it("takes a challenge on one instance and refuses it on another on the same store", async () => {
    const t = await testApp(DBSC);
    const other = await buildApp({
      engine: await engineFor(t.config, t.store, { clock: t.clock, passwordCost: { N: 1024, r: 8, p: 1 } }),
      config: t.config,
      rateLimitStore: t.store.limits,
      logStream: { write: () => {} },
    });
    const { response } = await login(t.app);
    const challenge = registrationChallenge(response);
    expect((await register(other, proof(deviceKey(), challenge, { withKey: true }))).statusCode).toBe(200);
    const again = await register(t.app, proof(deviceKey(), challenge, { withKey: true }));
    expect(again.json().error_description).toMatch(/answered already/);
  });

  it("never replaces a registered key", async () => {
    const t = await testApp(DBSC);
    const { sessionId, key } = await boundSession(t);
    const asked = await refreshBinding(t.app, sessionId);
    const challenge = /^"([^"]+)";id="/.exec(
      String(asked.headers["secure-session-challenge"]),
    )?.[1] as string;
    const other = await register(t.app, proof(deviceKey(), challenge, { withKey: true }));
    expect(other.statusCode).toBe(409);
    expect(other.json().error).toBe("conflict");
    const session = await t.engine.findSession(sessionId);
    expect(JSON.parse(session?.deviceKey as string).x).toBe(key.jwk.x);
  });

  it("refuses proofs that fail a check, naming the check", async () => {
    const t = await testApp(DBSC);
    const { response } = await login(t.app);
    const challenge = registrationChallenge(response);
    const key = deviceKey();
    const cases: [string | undefined, RegExp][] = [
      [undefined, /Secure-Session-Response header is required/],
      ["not.a-jws", /not a compact JWS/],
      [proof(key, challenge, { withKey: true, header: { typ: "JWT" } }), /typ must be dbsc\+jwt/],
      [proof(key, challenge, { withKey: true, header: { alg: "none" } }), /alg must be ES256/],
      [proof(key, challenge, { withKey: true, header: { alg: "HS256" } }), /alg must be ES256/],
      [proof(key, challenge), /must carry its public key/],
      [proof(key, challenge, { header: { jwk: { ...key.jwk, d: "AAAA" } } }), /jwk must be a public key/],
      // Signed by another key than the one it presents.
      [proof(key, challenge, { withKey: true, signer: deviceKey().privateKey }), /signature does not verify/],
      [proof(key, `${challenge.slice(0, -2)}AA`, { withKey: true }), /not a challenge of this server/],
    ];
    for (const [sent, why] of cases) {
      const refused = await register(t.app, sent);
      expect(refused.statusCode, String(why)).toBe(400);
      expect(refused.json().error_description).toMatch(why);
    }
    // None of them used the challenge up; it expires with time.
    t.clock.advance(121);
    const late = await register(t.app, proof(key, challenge, { withKey: true }));
    expect(late.json().error_description).toMatch(/has expired/);
  });
});

describe("DBSC refresh of the bound cookie", () => {
  const challengeOf = (response: LightMyRequestResponse, sessionId: string) => {
    const match = /^"([^"]+)";id="([^"]+)"$/.exec(String(response.headers["secure-session-challenge"]));
    expect(match?.[2]).toBe(sessionId);
    return match?.[1] as string;
  };

  it("asks for a proof, then renews the cookie for one signed by the registered key", async () => {
    const t = await testApp(DBSC);
    const { sessionId, key } = await boundSession(t);
    const asked = await refreshBinding(t.app, sessionId);
    expect(asked.statusCode).toBe(403);
    const renewed = await refreshBinding(t.app, sessionId, proof(key, challengeOf(asked, sessionId)));
    expect(renewed.statusCode).toBe(200);
    boundCookieOf(renewed);
    expect(renewed.json().session_identifier).toBe(sessionId);
  });

  it("refuses a proof from any other key, even one carrying its own public key", async () => {
    const t = await testApp(DBSC);
    const { sessionId } = await boundSession(t);
    const thief = deviceKey();
    for (const withKey of [false, true]) {
      const challenge = challengeOf(await refreshBinding(t.app, sessionId), sessionId);
      const refused = await refreshBinding(t.app, sessionId, proof(thief, challenge, { withKey }));
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({ error: "invalid_dbsc_proof" });
      expect(refused.headers["set-cookie"]).toBeUndefined();
    }
  });

  it("refuses a challenge issued for another session and one answered already", async () => {
    const t = await testApp(DBSC);
    const first = await boundSession(t);
    const second = await boundSession(t);
    const forSecond = challengeOf(await refreshBinding(t.app, second.sessionId), second.sessionId);
    const crossed = await refreshBinding(t.app, first.sessionId, proof(first.key, forSecond));
    expect(crossed.json().error_description).toMatch(/another session/);
    const challenge = challengeOf(await refreshBinding(t.app, first.sessionId), first.sessionId);
    expect((await refreshBinding(t.app, first.sessionId, proof(first.key, challenge))).statusCode).toBe(200);
    const replayed = await refreshBinding(t.app, first.sessionId, proof(first.key, challenge));
    expect(replayed.json().error_description).toMatch(/answered already/);
  });

  it("ends the browser's DBSC session when its session is over", async () => {
    const t = await testApp(DBSC);
    const { sessionId } = await boundSession(t);
    await t.engine.revokeSession(null, sessionId);
    const ended = await refreshBinding(t.app, sessionId);
    expect(ended.statusCode).toBe(200);
    expect(ended.json()).toEqual({ session_identifier: sessionId, continue: false });
    expect(ended.headers["set-cookie"]).toMatch(new RegExp(`^${BOUND}=; Max-Age=0;`));
    expect((await refreshBinding(t.app, "no-such-session")).json()).toEqual({
      session_identifier: "no-such-session",
      continue: false,
    });
  });
});

describe("the token endpoint and a device-keyed session", () => {
  it("refreshes with the session's bound cookie", async () => {
    const t = await testApp(DBSC);
    const { refresh, bound } = await boundSession(t);
    const refreshed = await refreshWithBound(t.app, refresh, bound);
    expect(refreshed.statusCode).toBe(200);
  });

  it("refuses a refresh without a valid bound cookie with 403 device_unbound, and signs no one out", async () => {
    const t = await testApp(DBSC);
    const { refresh, bound } = await boundSession(t);
    // None, a forged one, and another session's.
    const another = await boundSession(t);
    for (const cookie of [undefined, "9999999999.AAAAAAAAAAAAAAAAAAAAAA", another.bound]) {
      const refused = await refreshWithBound(t.app, refresh, cookie);
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({ error: "device_unbound", prolong_error: "device_unbound" });
      // The refresh cookie stays: the browser renews its bound cookie and tries again.
      expect(refused.headers["set-cookie"]).toBeUndefined();
    }
    expect((await refreshWithBound(t.app, refresh, bound)).statusCode).toBe(200);
  });

  it("refuses a copied bound cookie once its lifetime ends, whatever the browser that sends it", async () => {
    const t = await testApp(DBSC);
    const { refresh, bound } = await boundSession(t);
    const first = await refreshWithBound(t.app, refresh, bound);
    expect(first.statusCode).toBe(200);
    t.clock.advance(LIFETIME);
    const late = await refreshWithBound(t.app, refreshCookieOf(first) as string, bound);
    expect(late.statusCode).toBe(403);
    expect(late.json().error).toBe("device_unbound");
  });

  it("leaves sessions without a key as they were: no bound cookie needed", async () => {
    const t = await testApp(DBSC);
    const { response } = await login(t.app);
    const refreshed = await refreshWeb(t.app, refreshCookieOf(response) as string);
    expect(refreshed.statusCode).toBe(200);
  });
});
