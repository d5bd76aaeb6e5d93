import * as dpop from "dpop";
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  type JWK,
  jwtVerify,
} from "jose";
import * as oauth from "oauth4webapi";
import { afterEach, describe, expect, it } from "vitest";
import { dpopKey, proof } from "./dpop-fixtures.js";
import { ISSUER, PASSWORD, refreshNative, type TestApp, testApp } from "./fixtures.js";

/**
 * Interop (docs/bound-sessions.md, "Turning DPoP on"): a client built on oauth4webapi's
 * own DPoP support refreshes a bound session, retrying once when told to use the server's
 * nonce, reads a bearer route with its bound access token, and revokes the session, over a
 * real socket. Its requests go to the issuer's URLs (the `htu` of its proofs), which
 * `customFetch` delivers to the listening server, as a proxy in front of it would.
 */
const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((t) => t.app.close()));
});

const as: oauth.AuthorizationServer = {
  issuer: ISSUER,
  token_endpoint: `${ISSUER}/oauth/token`,
  revocation_endpoint: `${ISSUER}/oauth/revoke`,
};
const client: oauth.Client = { client_id: "native" };

describe("DPoP interop with oauth4webapi", () => {
  it("refreshes a bound session (nonce retry included), calls a bearer route as DPoP, and revokes the session", async () => {
    const t = await testApp({ profiles: { native: { dpop: "allowed" } }, dpop: { nonce: true } });
    apps.push(t);
    // oauth4webapi dates its proofs by the system clock, so the server follows it here.
    t.clock.now = () => Date.now();
    const origin = await t.app.listen({ port: 0, host: "127.0.0.1" });
    const toServer = (url: string, init: RequestInit | oauth.CustomFetchOptions<string, unknown>) =>
      fetch(`${origin}${new URL(url).pathname}${new URL(url).search}`, init as RequestInit);

    // The sign-in is prolong's own endpoint: its proof is made with the same key pair.
    const key = await dpopKey();
    const login = (dpop: string) =>
      toServer(`${ISSUER}/login`, {
        method: "POST",
        headers: { "content-type": "application/json", dpop },
        body: JSON.stringify({ username: "maryo", password: PASSWORD, client_id: "native" }),
      });
    const told = await login(await proof(key, { now: Date.now(), htu: `${ISSUER}/login` }));
    expect(told.status).toBe(400);
    const nonce = told.headers.get("dpop-nonce") as string;
    const signedIn = await login(await proof(key, { now: Date.now(), htu: `${ISSUER}/login`, nonce }));
    expect(signedIn.status).toBe(200);
    const session = (await signedIn.json()) as { refresh_token: string; session_id: string };

    // A fresh handle knows no nonce yet: the first refresh is told to use one, the retry passes.
    const dpop = oauth.DPoP(client, { privateKey: key.privateKey, publicKey: key.publicKey });
    const options = { DPoP: dpop, [oauth.customFetch]: toServer };
    const refresh = () =>
      oauth
        .refreshTokenGrantRequest(as, client, oauth.None(), session.refresh_token, options)
        .then((response) => oauth.processRefreshTokenResponse(as, client, response));
    let tokens: oauth.TokenEndpointResponse;
    let retried = false;
    try {
      tokens = await refresh();
    } catch (error) {
      expect(oauth.isDPoPNonceError(error)).toBe(true);
      retried = true;
      tokens = await refresh();
    }
    expect(retried).toBe(true);
    expect(tokens.token_type).toBe("dpop");
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const sessions = await oauth.protectedResourceRequest(
      tokens.access_token,
      "GET",
      new URL(`${ISSUER}/sessions`),
      undefined,
      undefined,
      options,
    );
    expect(sessions.status).toBe(200);

    // RFC 7009 revocation: oauth4webapi sends no proof there, which a profile that only
    // allows DPoP takes (docs/bound-sessions.md says why).
    const revoked = await oauth.revocationRequest(as, client, oauth.None(), tokens.refresh_token as string, {
      [oauth.customFetch]: toServer,
    });
    await oauth.processRevocationResponse(revoked);
    expect((await t.engine.findSession(session.session_id))?.revokedReason).toBe("logout");
    await expect(
      oauth
        .refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token as string, options)
        .then((response) => oauth.processRefreshTokenResponse(as, client, response)),
    ).rejects.toMatchObject({ error: "invalid_grant" });
  });
});

describe("DPoP interop with the dpop package, checked with jose", () => {
  it("binds sign-in and refresh answers to the key of proofs made by dpop: cnf.jkt is that key's RFC 7638 thumbprint", async () => {
    const t = await testApp({ profiles: { native: { dpop: "required" } } });
    apps.push(t);
    // The dpop package dates its proofs by the system clock, so the server follows it here.
    t.clock.now = () => Date.now();
    const keys = await dpop.generateKeyPair("ES256");
    const jwks = createLocalJWKSet((await t.app.inject({ url: "/.well-known/jwks.json" })).json());
    /** The access token's claims once jose has verified its signature, issuer and audience. */
    const verified = async (token: string) =>
      (await jwtVerify(token, jwks, { issuer: ISSUER, audience: "prolong" })).payload;

    const signInProof = await dpop.generateProof(keys, `${ISSUER}/login`, "POST");
    const signedIn = await t.app.inject({
      method: "POST",
      url: "/login",
      headers: { dpop: signInProof },
      payload: { username: "maryo", password: PASSWORD, client_id: "native" },
    });
    expect(signedIn.statusCode).toBe(200);
    const session = signedIn.json() as { access_token: string; refresh_token: string; token_type: string };
    expect(session.token_type).toBe("DPoP");
    // The key the proof carried, read by jose from the proof itself, and by jose from the key pair.
    const proofJkt = await calculateJwkThumbprint(decodeProtectedHeader(signInProof).jwk as JWK);
    expect(proofJkt).toBe(await calculateJwkThumbprint(await exportJWK(keys.publicKey)));
    expect((await verified(session.access_token)).cnf).toEqual({ jkt: proofJkt });

    const refreshProof = await dpop.generateProof(keys, `${ISSUER}/oauth/token`, "POST");
    const refreshed = await refreshNative(t.app, session.refresh_token, { headers: { dpop: refreshProof } });
    expect(refreshed.statusCode).toBe(200);
    const tokens = refreshed.json() as { access_token: string; token_type: string };
    expect(tokens.token_type).toBe("DPoP");
    expect((await verified(tokens.access_token)).cnf).toEqual({ jkt: proofJkt });

    // A proof by another key made with the same package is refused for this session.
    const other = await dpop.generateKeyPair("ES256");
    const stolen = await refreshNative(t.app, session.refresh_token, {
      headers: { dpop: await dpop.generateProof(other, `${ISSUER}/oauth/token`, "POST") },
    });
    expect(stolen.statusCode).toBe(400);
    expect(stolen.json().error).toBe("invalid_grant");
  });
});
