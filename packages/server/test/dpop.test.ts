import { GRANT_TYPE_HANDOFF } from "@prolong/protocol";
import { buildApp, engineFor, resolveConfig } from "@prolong/server";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { type DpopKey, dpopKey, hmacProof, proof, unsignedProof } from "./dpop-fixtures.js";
import {
  ADMIN_TOKEN,
  claimsOf,
  exchangeToken,
  FakeClock,
  ISSUER,
  PASSWORD,
  postToken,
  RESOURCE_SECRET,
  refreshCookieOf,
  refreshNative,
  refreshWeb,
  type TestApp,
  testApp,
  testStore,
} from "./fixtures.js";

/**
 * DPoP at the server (RFC 9449; docs/bound-sessions.md, "Turning DPoP on"; docs/protocol.md,
 * "DPoP"): sessions bound at sign-in, refreshes only with the bound key, proofs checked
 * against the issuer's URL of each endpoint, each proof's jti spent once in the store.
 */

const BOTH_ALLOWED = { profiles: { web: { dpop: "allowed" }, native: { dpop: "allowed" } } };
const LOGIN = `${ISSUER}/login`;

/** A native sign-in, with a proof of `key` when given (or the given DPoP header value). */
async function signIn(t: TestApp, key: DpopKey | string | null, clientId = "native") {
  const dpop =
    key === null
      ? undefined
      : typeof key === "string"
        ? key
        : await proof(key, { now: t.clock.now(), htu: LOGIN });
  return t.app.inject({
    method: "POST",
    url: "/login",
    headers: dpop === undefined ? {} : { dpop },
    payload: { username: "maryo", password: PASSWORD, client_id: clientId },
  });
}

async function boundNativeSession(t: TestApp, key: DpopKey) {
  const response = await signIn(t, key);
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as {
    access_token: string;
    refresh_token: string;
    session_id: string;
    token_type: string;
  };
}

/** A native refresh with this proof header (none when `null`). */
function refreshWith(
  app: FastifyInstance,
  refreshToken: string,
  dpop: string | null,
  headers: Record<string, string> = {},
) {
  return refreshNative(app, refreshToken, { headers: { ...(dpop === null ? {} : { dpop }), ...headers } });
}

function errorOf(response: LightMyRequestResponse) {
  return response.json() as { error: string; prolong_error?: string; error_description?: string };
}

describe("DPoP: discovery", () => {
  it("publishes the proof algorithms in the metadata (RFC 9449 §5.1)", async () => {
    const { app } = await testApp();
    const metadata = (
      await app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" })
    ).json();
    expect(metadata.dpop_signing_alg_values_supported).toEqual(["ES256", "EdDSA", "RS256", "PS256"]);
  });
});

describe("DPoP: binding a session", () => {
  it("binds a sign-in's session to the proven key: DPoP tokens with cnf.jkt, and refreshes with that key", async () => {
    const t = await testApp(BOTH_ALLOWED);
    const key = await dpopKey();
    const signedIn = await boundNativeSession(t, key);
    expect(signedIn.token_type).toBe("DPoP");
    expect(claimsOf(signedIn.access_token).cnf).toEqual({ jkt: key.jkt });
    expect((await t.engine.findSession(signedIn.session_id))?.dpopJkt).toBe(key.jkt);

    t.clock.t += 10_000;
    const refreshed = await refreshWith(
      t.app,
      signedIn.refresh_token,
      await proof(key, { now: t.clock.now() }),
    );
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    expect(refreshed.json().token_type).toBe("DPoP");
    expect(claimsOf(refreshed.json().access_token).cnf).toEqual({ jkt: key.jkt });
  });

  it("introspects a bound access token as DPoP with its cnf (RFC 9449 §6.2)", async () => {
    const t = await testApp(BOTH_ALLOWED);
    const key = await dpopKey();
    const { access_token: token } = await boundNativeSession(t, key);
    const introspected = await t.app.inject({
      method: "POST",
      url: "/oauth/introspect",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`resource:${RESOURCE_SECRET}`).toString("base64")}`,
      },
      payload: new URLSearchParams({ token }).toString(),
    });
    expect(introspected.json()).toMatchObject({ active: true, token_type: "DPoP", cnf: { jkt: key.jkt } });
  });

  it("leaves a sign-in without a proof unbound and Bearer, and its refreshes work without one", async () => {
    const t = await testApp(BOTH_ALLOWED);
    const response = await signIn(t, null);
    expect(response.json().token_type).toBe("Bearer");
    expect(claimsOf(response.json().access_token).cnf).toBeUndefined();
    expect((await t.engine.findSession(response.json().session_id))?.dpopJkt).toBeNull();
    const refreshed = await refreshWith(t.app, response.json().refresh_token, null);
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.json().token_type).toBe("Bearer");
  });

  it("ignores the DPoP header where the profile's dpop is off (the default)", async () => {
    const t = await testApp();
    const response = await signIn(t, "not even a proof");
    expect(response.statusCode).toBe(200);
    expect(response.json().token_type).toBe("Bearer");
    expect((await t.engine.findSession(response.json().session_id))?.dpopJkt).toBeNull();
  });

  it("keeps checking the proof of a session bound earlier after the profile's dpop is turned off", async () => {
    const t = await testApp();
    const key = await dpopKey();
    const bound = await t.engine.startSessionForSubject({
      subjectId: t.user.id,
      clientId: "native",
      dpopJkt: key.jkt,
    });
    const refreshed = await refreshWith(t.app, bound.refreshToken, await proof(key, { now: t.clock.now() }));
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    expect(refreshed.json().token_type).toBe("DPoP");
    const stolen = await refreshWith(t.app, refreshed.json().refresh_token, null);
    expect(errorOf(stolen).error).toBe("invalid_grant");
  });

  it("binds a web session started by a handoff to the key the browser proved", async () => {
    const t = await testApp(BOTH_ALLOWED);
    const key = await dpopKey();
    const { code } = await t.engine.createHandoff({ subjectId: t.user.id });
    const redeemed = await postToken(
      t.app,
      { grant_type: GRANT_TYPE_HANDOFF, code, client_id: "web" },
      { headers: { "prolong-csrf": "1", dpop: await proof(key, { now: t.clock.now() }) } },
    );
    expect(redeemed.statusCode, redeemed.body).toBe(200);
    expect(redeemed.json().token_type).toBe("DPoP");
    const cookie = refreshCookieOf(redeemed) as string;
    // The cookie alone, as a thief who copied it would send it: refused, the session ended.
    const stolen = await refreshWeb(t.app, cookie);
    expect(stolen.statusCode).toBe(400);
    expect(errorOf(stolen)).toMatchObject({ error: "invalid_grant" });
    expect((await t.engine.findSession(redeemed.json().session_id))?.revokedReason).toBe("key_mismatch");
  });
});

describe("DPoP: attacks on a bound refresh token", () => {
  async function bound() {
    const t = await testApp(BOTH_ALLOWED);
    const key = await dpopKey();
    const signedIn = await boundNativeSession(t, key);
    return { t, key, signedIn };
  }

  it("without a proof: invalid_grant, and the session is revoked as key_mismatch for the holder too", async () => {
    const { t, key, signedIn } = await bound();
    const stolen = await refreshWith(t.app, signedIn.refresh_token, null);
    expect(stolen.statusCode).toBe(400);
    expect(errorOf(stolen).error).toBe("invalid_grant");
    expect((await t.engine.findSession(signedIn.session_id))?.revokedReason).toBe("key_mismatch");
    const holder = await refreshWith(t.app, signedIn.refresh_token, await proof(key, { now: t.clock.now() }));
    expect(errorOf(holder)).toMatchObject({ error: "invalid_grant", prolong_error: "session_revoked" });
  });

  it("with another key's proof: the same", async () => {
    const { t, signedIn } = await bound();
    const thief = await dpopKey();
    const stolen = await refreshWith(
      t.app,
      signedIn.refresh_token,
      await proof(thief, { now: t.clock.now() }),
    );
    expect(errorOf(stolen).error).toBe("invalid_grant");
    expect((await t.engine.findSession(signedIn.session_id))?.revokedReason).toBe("key_mismatch");
  });

  it("with a replayed proof: invalid_dpop_proof, and the session lives on", async () => {
    const { t, key, signedIn } = await bound();
    const used = await proof(key, { now: t.clock.now() });
    const first = await refreshWith(t.app, signedIn.refresh_token, used);
    expect(first.statusCode).toBe(200);
    const replayed = await refreshWith(t.app, first.json().refresh_token, used);
    expect(replayed.statusCode).toBe(400);
    expect(errorOf(replayed).error).toBe("invalid_dpop_proof");
    expect((await t.engine.findSession(signedIn.session_id))?.revokedAt).toBeNull();
    const next = await refreshWith(
      t.app,
      first.json().refresh_token,
      await proof(key, { now: t.clock.now() }),
    );
    expect(next.statusCode).toBe(200);
  });

  it("with a proof for another URL or method: invalid_dpop_proof; the URL is the issuer's, never the Host's", async () => {
    const { t, key, signedIn } = await bound();
    const now = t.clock.now();
    const evilHost = { host: "evil.example", "x-forwarded-host": "evil.example" };
    const cases = [
      await proof(key, { now, htu: "https://evil.example/oauth/token" }),
      await proof(key, { now, htu: `${ISSUER}/oauth/revoke` }),
      await proof(key, { now, htm: "GET" }),
    ];
    for (const wrong of cases) {
      const response = await refreshWith(t.app, signedIn.refresh_token, wrong, evilHost);
      expect(response.statusCode).toBe(400);
      expect(errorOf(response).error).toBe("invalid_dpop_proof");
    }
    // Refused proofs are no theft: the session still refreshes, whatever Host says.
    const right = await refreshWith(t.app, signedIn.refresh_token, await proof(key, { now }), evilHost);
    expect(right.statusCode).toBe(200);
  });

  it("with a proof whose iat is outside the window: invalid_dpop_proof", async () => {
    const { t, key, signedIn } = await bound();
    for (const iatOffset of [-600, 600]) {
      const response = await refreshWith(
        t.app,
        signedIn.refresh_token,
        await proof(key, { now: t.clock.now(), iatOffset }),
      );
      expect(errorOf(response).error).toBe("invalid_dpop_proof");
    }
  });

  it("with an unsigned (alg none) or HMAC proof, or two proofs: invalid_dpop_proof", async () => {
    const { t, key, signedIn } = await bound();
    const now = t.clock.now();
    const two = `${await proof(key, { now })}, ${await proof(key, { now })}`;
    for (const bad of [unsignedProof(key, now), hmacProof(now), two]) {
      const response = await refreshWith(t.app, signedIn.refresh_token, bad);
      expect(response.statusCode).toBe(400);
      expect(errorOf(response).error).toBe("invalid_dpop_proof");
    }
    expect((await t.engine.findSession(signedIn.session_id))?.revokedAt).toBeNull();
  });
});

describe("DPoP: bound access tokens at the server's own routes", () => {
  it("refuses a bound access token sent as Bearer, and takes it as DPoP with a proof of its key and its ath", async () => {
    const t = await testApp(BOTH_ALLOWED);
    const key = await dpopKey();
    const { access_token: token } = await boundNativeSession(t, key);
    const asBearer = await t.app.inject({
      method: "GET",
      url: "/sessions",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(asBearer.statusCode).toBe(401);
    expect(asBearer.headers["www-authenticate"]).toMatch(
      /^DPoP algs="ES256 EdDSA RS256 PS256", error="invalid_token"/,
    );

    const sessions = `${ISSUER}/sessions`;
    const get = async (dpop: string | undefined) =>
      t.app.inject({
        method: "GET",
        url: "/sessions",
        headers: { authorization: `DPoP ${token}`, ...(dpop === undefined ? {} : { dpop }) },
      });
    const now = t.clock.now();
    const ok = await get(await proof(key, { now, htm: "GET", htu: sessions, accessToken: token }));
    expect(ok.statusCode, ok.body).toBe(200);

    const other = await boundNativeSession(t, key);
    const failures = [
      undefined,
      // A proof whose ath is for another token.
      await proof(key, { now, htm: "GET", htu: sessions, accessToken: other.access_token }),
      // A proof of another key.
      await proof(await dpopKey(), { now, htm: "GET", htu: sessions, accessToken: token }),
    ];
    for (const dpop of failures) {
      const response = await get(dpop);
      expect(response.statusCode).toBe(401);
      expect(response.headers["www-authenticate"]).toMatch(/^DPoP algs=/);
    }
  });
});

describe("DPoP: required", () => {
  const REQUIRED = { profiles: { native: { dpop: "required" } } };

  it("refuses a sign-in without a proof before checking the password", async () => {
    const t = await testApp(REQUIRED);
    const response = await signIn(t, null);
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).error).toBe("invalid_dpop_proof");
    // The web client's profile did not change.
    expect((await signIn(t, null, "web")).statusCode).toBe(200);
  });

  it("refuses a refresh and a revocation without a proof, revoking nothing", async () => {
    const t = await testApp(REQUIRED);
    const key = await dpopKey();
    const signedIn = await boundNativeSession(t, key);
    const refresh = await refreshWith(t.app, signedIn.refresh_token, null);
    expect(errorOf(refresh).error).toBe("invalid_dpop_proof");
    for (const fields of [
      { token: signedIn.refresh_token, client_id: "native" } as Record<string, string>,
      // Without client_id the token's session names the client.
      { token: signedIn.refresh_token },
    ]) {
      const revoke = await t.app.inject({
        method: "POST",
        url: "/oauth/revoke",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: new URLSearchParams(fields).toString(),
      });
      expect(revoke.statusCode).toBe(400);
      expect(errorOf(revoke).error).toBe("invalid_dpop_proof");
    }
    expect((await t.engine.findSession(signedIn.session_id))?.revokedAt).toBeNull();
    const revoke = await t.app.inject({
      method: "POST",
      url: "/oauth/revoke",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        dpop: await proof(key, { now: t.clock.now(), htu: `${ISSUER}/oauth/revoke` }),
      },
      payload: new URLSearchParams({ token: signedIn.refresh_token, client_id: "native" }).toString(),
    });
    expect(revoke.statusCode).toBe(200);
    expect((await t.engine.findSession(signedIn.session_id))?.revokedReason).toBe("logout");
  });
});

describe("DPoP: required, for a web client", () => {
  it("refuses a handoff redemption without a proof without spending the code, and an exchange without one", async () => {
    const t = await testApp({ profiles: { web: { dpop: "required", exchange: true } } });
    const key = await dpopKey();
    const { code } = await t.engine.createHandoff({ subjectId: t.user.id });
    const redeem = async (dpop: string | null) =>
      postToken(
        t.app,
        { grant_type: GRANT_TYPE_HANDOFF, code, client_id: "web" },
        { headers: { "prolong-csrf": "1", ...(dpop === null ? {} : { dpop }) } },
      );
    const without = await redeem(null);
    expect(without.statusCode).toBe(400);
    expect(errorOf(without).error).toBe("invalid_dpop_proof");
    const redeemed = await redeem(await proof(key, { now: t.clock.now() }));
    expect(redeemed.statusCode, redeemed.body).toBe(200);
    // Without a client_id, the exchanged token's client decides.
    const exchanged = await exchangeToken(t.app, redeemed.json().access_token);
    expect(errorOf(exchanged).error).toBe("invalid_dpop_proof");
  });
});

describe("DPoP: the exchange", () => {
  const EXCHANGE = { profiles: { web: { dpop: "allowed", exchange: true } } };

  it("trades a bound access token only with a proof of its key, for another bound one", async () => {
    const t = await testApp(EXCHANGE);
    const key = await dpopKey();
    const signedIn = (await signIn(t, key, "web")).json();
    expect(signedIn.token_type).toBe("DPoP");
    const stolen = await exchangeToken(t.app, signedIn.access_token);
    expect(errorOf(stolen).error).toBe("invalid_grant");
    const thief = await exchangeToken(t.app, signedIn.access_token, {
      headers: { dpop: await proof(await dpopKey(), { now: t.clock.now() }) },
    });
    expect(errorOf(thief).error).toBe("invalid_grant");
    const exchanged = await exchangeToken(t.app, signedIn.access_token, {
      headers: { dpop: await proof(key, { now: t.clock.now() }) },
    });
    expect(exchanged.statusCode, exchanged.body).toBe(200);
    expect(exchanged.json().token_type).toBe("DPoP");
    expect(claimsOf(exchanged.json().access_token).cnf).toEqual({ jkt: key.jkt });
  });
});

describe("DPoP: server nonces", () => {
  it("answers a proof without the nonce use_dpop_nonce with one in DPoP-Nonce, and takes the retry", async () => {
    const t = await testApp({ ...BOTH_ALLOWED, dpop: { nonce: true } });
    const key = await dpopKey();
    const first = await signIn(t, key);
    expect(first.statusCode).toBe(400);
    expect(errorOf(first).error).toBe("use_dpop_nonce");
    const nonce = first.headers["dpop-nonce"] as string;
    expect(nonce).toMatch(/^[A-Za-z0-9_-]+$/);
    const retry = await signIn(t, await proof(key, { now: t.clock.now(), htu: LOGIN, nonce }));
    expect(retry.statusCode, retry.body).toBe(200);
    expect(retry.headers["dpop-nonce"]).toBe(nonce);
    // A wrong nonce is no better than none.
    const wrong = await refreshWith(
      t.app,
      retry.json().refresh_token,
      await proof(key, { now: t.clock.now(), nonce: "AAAAAAAAAAAAAAAAAAAAAA" }),
    );
    expect(errorOf(wrong).error).toBe("use_dpop_nonce");
  });
});

describe("DPoP: three instances on one store", () => {
  const closing: FastifyInstance[] = [];
  afterEach(async () => {
    await Promise.all(closing.splice(0).map((app) => app.close()));
  });

  it("refuse a proof replayed at another instance, and of one proof sent to all at once accept exactly one", async () => {
    const store = await testStore();
    const clock = new FakeClock();
    const config = resolveConfig({
      issuer: ISSUER,
      resourceSecret: RESOURCE_SECRET,
      adminToken: ADMIN_TOKEN,
      store: "memory:",
      logLevel: "silent",
      ...BOTH_ALLOWED,
    });
    const instances: FastifyInstance[] = [];
    for (let i = 0; i < 3; i++) {
      const engine = await engineFor(config, store, { clock, passwordCost: { N: 1024, r: 8, p: 1 } });
      if (i === 0) await engine.createAccount({ username: "maryo", password: PASSWORD });
      const app = await buildApp({ engine, config, rateLimitStore: store.limits });
      instances.push(app);
      closing.push(app);
    }
    const [a, b, c] = instances as [FastifyInstance, FastifyInstance, FastifyInstance];
    const key = await dpopKey();
    const signedIn = await a.inject({
      method: "POST",
      url: "/login",
      headers: { dpop: await proof(key, { now: clock.now(), htu: LOGIN }) },
      payload: { username: "maryo", password: PASSWORD, client_id: "native" },
    });
    expect(signedIn.statusCode, signedIn.body).toBe(200);

    const used = await proof(key, { now: clock.now() });
    const atA = await refreshWith(a, signedIn.json().refresh_token, used);
    expect(atA.statusCode).toBe(200);
    const token = atA.json().refresh_token as string;
    for (const other of [b, c]) {
      const replayed = await refreshWith(other, token, used);
      expect(errorOf(replayed).error).toBe("invalid_dpop_proof");
    }

    const once = await proof(key, { now: clock.now() });
    const raced = await Promise.all(instances.map((app) => refreshWith(app, token, once)));
    expect(raced.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(raced.filter((r) => errorOf(r).error === "invalid_dpop_proof")).toHaveLength(2);
  });
});
