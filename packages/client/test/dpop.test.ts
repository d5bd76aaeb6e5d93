import {
  createSessionClient,
  type DpopKeyStore,
  type LockManagerLike,
  type SessionClientOptions,
} from "@prolong/client";
import { attachToAxios } from "@prolong/client/axios";
import axios from "axios";
import { base64url, calculateJwkThumbprint, EmbeddedJWK, type JWK, jwtVerify } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeProof } from "../src/dpop.js";
import { loadKey } from "../src/dpop-key.js";
import { FakeServer } from "./fake-server.js";

let server: FakeServer;
/** Every request the client made: method, URL and the DPoP header it carried. */
let seen: { method: string; url: string; dpop: string | null; authorization: string | null }[];
/** Answers the test puts before the fake server's, by path; `undefined` lets the request through. */
let before: (request: Request) => Response | undefined;
const stops: (() => void)[] = [];

beforeEach(() => {
  server = new FakeServer();
  seen = [];
  before = () => undefined;
});
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

const fetchThrough = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  const request = new Request(input, init);
  const h = request.headers;
  seen.push({
    method: request.method,
    url: request.url,
    dpop: h.get("dpop"),
    authorization: h.get("authorization"),
  });
  return before(request.clone()) ?? server.fetch(request);
};

function client(options: Partial<SessionClientOptions> = {}) {
  const c = createSessionClient({
    issuer: server.issuer,
    profile: "native",
    fetch: fetchThrough,
    random: () => 0,
    locks: null,
    channel: null,
    target: null,
    dpop: true,
    ...options,
  });
  stops.push(() => c.stop());
  const errors: string[] = [];
  c.on("error", (e) => errors.push(e.code));
  return { c, errors };
}

/** Verifies a proof as a server would, with jose: signature by its own jwk, typ, alg. */
async function verified(proof: string | null) {
  expect(proof).toBeTypeOf("string");
  const { payload, protectedHeader } = await jwtVerify(proof as string, EmbeddedJWK, {
    typ: "dpop+jwt",
    algorithms: ["ES256"],
  });
  const jwk = protectedHeader.jwk as JWK;
  return { payload, header: protectedHeader, jkt: await calculateJwkThumbprint(jwk) };
}

const sha256 = async (value: string) =>
  base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value))));

/** A key store in memory that counts its calls and can be made slow, as IndexedDB is. */
function countingStore(delayMs = 0) {
  let held: CryptoKeyPair | null = null;
  const calls = { load: 0, save: 0 };
  const store: DpopKeyStore = {
    load: async () => {
      calls.load++;
      await new Promise((r) => setTimeout(r, delayMs));
      return held;
    },
    save: async (pair) => {
      calls.save++;
      held = pair;
    },
  };
  return { store, calls };
}

/** An exclusive lock, as navigator.locks grants one per name. */
function exclusiveLocks(): LockManagerLike {
  const tails = new Map<string, Promise<unknown>>();
  return {
    request<T>(name: string, _options: { signal: AbortSignal }, callback: () => Promise<T>): Promise<T> {
      const run = (tails.get(name) ?? Promise.resolve()).then(callback);
      tails.set(
        name,
        run.catch(() => undefined),
      );
      return run;
    },
  };
}

describe("makeProof (RFC 9449 §4.2)", () => {
  it("is an ES256 JWS that jose verifies with the embedded public jwk, with every claim a server checks", async () => {
    const key = await loadKey({ load: async () => null, save: async () => {} }, null, "test");
    const proof = await makeProof(
      key,
      "GET",
      "https://api.test/things?page=2#top",
      1_700_000_000,
      "n-1",
      "at",
    );
    const { payload, header, jkt } = await verified(proof);
    expect(header).toEqual({ typ: "dpop+jwt", alg: "ES256", jwk: key.jwk });
    // Public members only, never `d` (§4.2).
    expect(Object.keys(header.jwk as object).sort()).toEqual(["crv", "kty", "x", "y"]);
    expect(jkt).toBe(await calculateJwkThumbprint(key.jwk as JWK));
    expect(payload).toEqual({
      jti: expect.any(String),
      htm: "GET",
      // Without query and fragment (§4.2).
      htu: "https://api.test/things",
      iat: 1_700_000_000,
      nonce: "n-1",
      ath: await sha256("at"),
    });
    const again = await verified(await makeProof(key, "GET", "https://api.test/", 1));
    expect(again.payload.jti).not.toBe(payload.jti);
    expect(again.payload).not.toHaveProperty("ath");
    expect(again.payload).not.toHaveProperty("nonce");
  });

  it("is made with a key page script cannot read out", async () => {
    const key = await loadKey({ load: async () => null, save: async () => {} }, null, "test");
    expect(key.pair.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey("jwk", key.pair.privateKey)).rejects.toThrow();
  });
});

describe("the client with dpop", () => {
  it("sends a proof with sign-in, refresh and revocation, all by one key, and none for the metadata", async () => {
    const { c } = client();
    await c.signIn({ username: "maryo", password: "pw" });
    await c.refresh();
    await c.signOut();
    const metadata = seen.filter((r) => r.url.endsWith("/.well-known/oauth-authorization-server"));
    expect(metadata.map((r) => r.dpop)).toEqual([null]);
    const endpoints = seen.filter((r) => r !== metadata[0]);
    expect(endpoints.map((r) => r.url)).toEqual([
      `${server.issuer}/login`,
      `${server.issuer}/oauth/token`,
      `${server.issuer}/oauth/revoke`,
    ]);
    const proofs = await Promise.all(endpoints.map((r) => verified(r.dpop)));
    expect(new Set(proofs.map((p) => p.jkt)).size).toBe(1);
    for (const [i, { payload }] of proofs.entries()) {
      expect(payload.htm).toBe("POST");
      expect(payload.htu).toBe(endpoints[i]?.url);
      // No access token goes to the server's endpoints, so no `ath`.
      expect(payload).not.toHaveProperty("ath");
    }
  });

  it("dates its proofs on the server's clock once a token has told it the offset", async () => {
    server.skewMs = 3_600_000;
    const { c } = client();
    await c.signIn({ username: "maryo", password: "pw" });
    await c.refresh();
    const refresh = seen.find((r) => r.url.endsWith("/oauth/token"));
    const { payload } = await verified(refresh?.dpop ?? null);
    expect(Math.abs((payload.iat as number) - server.now() / 1000)).toBeLessThan(5);
  });

  it("without the option sends no proof", async () => {
    const { c } = client({ dpop: false });
    await c.signIn({ username: "maryo", password: "pw" });
    await c.refresh();
    expect(seen.length).toBe(3);
    expect(seen.every((r) => r.dpop === null)).toBe(true);
  });

  it("answers use_dpop_nonce once with the server's nonce, and sends it again unasked (RFC 9449 §8)", async () => {
    before = (request) => {
      if (new URL(request.url).pathname === "/.well-known/oauth-authorization-server") return undefined;
      const proof = request.headers.get("dpop") as string;
      const { nonce } = JSON.parse(Buffer.from(proof.split(".")[1] as string, "base64url").toString());
      if (nonce === "n-1") return undefined;
      return Response.json({ error: "use_dpop_nonce" }, { status: 400, headers: { "dpop-nonce": "n-1" } });
    };
    const { c } = client();
    await c.signIn({ username: "maryo", password: "pw" });
    expect(c.accessToken).not.toBeNull();
    await c.refresh();
    const nonces = await Promise.all(
      seen.filter((r) => r.dpop).map(async (r) => [r.url, (await verified(r.dpop)).payload.nonce]),
    );
    expect(nonces).toEqual([
      [`${server.issuer}/login`, undefined],
      [`${server.issuer}/login`, "n-1"],
      [`${server.issuer}/oauth/token`, "n-1"],
    ]);
  });

  it("retries use_dpop_nonce only once: a server that never takes its own nonce gets two requests", async () => {
    let serial = 0;
    before = (request) =>
      request.url.endsWith("/login")
        ? Response.json(
            { error: "use_dpop_nonce" },
            { status: 400, headers: { "dpop-nonce": `n-${++serial}` } },
          )
        : undefined;
    const { c } = client();
    await expect(c.signIn({ username: "maryo", password: "pw" })).rejects.toMatchObject({
      code: "use_dpop_nonce",
      status: 400,
    });
    expect(seen.filter((r) => r.url.endsWith("/login")).length).toBe(2);
  });

  it("reports a refused proof at refresh as invalid_dpop_proof, and keeps the session", async () => {
    const { c, errors } = client();
    await c.signIn({ username: "maryo", password: "pw" });
    server.tokenAnswers.push(() => Response.json({ error: "invalid_dpop_proof" }, { status: 400 }));
    const signedOut: string[] = [];
    c.on("signedOut", (e) => signedOut.push(e.reason));
    void c.refresh();
    await new Promise((r) => setTimeout(r, 50));
    expect(errors).toEqual(["invalid_dpop_proof"]);
    expect(signedOut).toEqual([]);
    expect(c.accessToken).not.toBeNull();
  });

  it("reports a key store that fails as dpop_key_unavailable, keeps the session, and asks the store again", async () => {
    const { store, calls } = countingStore();
    let broken = false;
    const flaky: DpopKeyStore = {
      load: () => (broken ? Promise.reject(new Error("keychain locked")) : store.load()),
      save: (pair) => store.save(pair),
    };
    const { c, errors } = client({ dpop: { keyStore: flaky } });
    broken = true;
    await expect(c.signIn({ username: "maryo", password: "pw" })).rejects.toMatchObject({
      code: "dpop_key_unavailable",
      message: expect.stringContaining("keychain locked"),
    });
    broken = false;
    await c.signIn({ username: "maryo", password: "pw" });
    expect(calls.load).toBe(1);
    expect(errors).toEqual([]);
  });

  it("refuses a host's key store whose pair is not P-256, naming the option", async () => {
    const rsa = (await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      false,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const { c } = client({ dpop: { keyStore: { load: async () => rsa, save: async () => {} } } });
    await expect(c.signIn({ username: "maryo", password: "pw" })).rejects.toMatchObject({
      code: "dpop_key_unavailable",
      message: expect.stringContaining("dpop.keyStore"),
    });
  });

  it("keeps its key in the host's keyStore: a second client (the app run again) proves with the same key", async () => {
    const { store, calls } = countingStore();
    const first = client({ dpop: { keyStore: store } });
    await first.c.signIn({ username: "maryo", password: "pw" });
    const second = client({ dpop: { keyStore: store } });
    await second.c.signIn({ username: "maryo", password: "pw" });
    const [a, b] = await Promise.all(seen.filter((r) => r.dpop).map((r) => verified(r.dpop)));
    expect(a?.jkt).toBe(b?.jkt);
    expect(calls.save).toBe(1);
  });

  it("makes one key for tabs that start together, under a Web Lock of its own", async () => {
    // A slow store: without the lock every tab would find none and make its own.
    const { store, calls } = countingStore(20);
    const locks = exclusiveLocks();
    const tabs = [1, 2, 3, 4].map(() => client({ dpop: { keyStore: store }, locks }));
    await Promise.all(tabs.map(({ c }) => c.signIn({ username: "maryo", password: "pw" })));
    const proofs = await Promise.all(seen.filter((r) => r.dpop).map((r) => verified(r.dpop)));
    expect(proofs.length).toBe(4);
    expect(new Set(proofs.map((p) => p.jkt)).size).toBe(1);
    expect(calls.save).toBe(1);
  });
});

describe("requests to APIs with a bound token (RFC 9449 §7.1)", () => {
  const api = "https://auth.test/api/things?x=1";

  function bound() {
    server.tokenType = "DPoP";
    server.extraClaims = { cnf: { jkt: "the-key" } };
  }

  it("fetch sends Authorization: DPoP and a proof for the request, with ath of the token", async () => {
    bound();
    const { c } = client();
    await c.signIn({ username: "maryo", password: "pw" });
    const response = await c.fetch(api, { method: "PUT", body: "{}" });
    expect((await response.json()).auth).toBe(`DPoP ${c.accessToken}`);
    const call = seen.at(-1);
    const { payload } = await verified(call?.dpop ?? null);
    expect(payload).toMatchObject({
      htm: "PUT",
      htu: "https://auth.test/api/things",
      ath: await sha256(c.accessToken as string),
    });
  });

  it("fetch sends a bearer token and no proof when the server did not bind the token", async () => {
    const { c } = client();
    await c.signIn({ username: "maryo", password: "pw" });
    await c.fetch(api);
    expect(seen.at(-1)).toMatchObject({ authorization: `Bearer ${c.accessToken}`, dpop: null });
  });

  it("fetch answers an API's use_dpop_nonce once with its nonce (RFC 9449 §9)", async () => {
    bound();
    const { c } = client();
    await c.signIn({ username: "maryo", password: "pw" });
    server.apiAnswers.push(
      () =>
        new Response(null, {
          status: 401,
          headers: { "www-authenticate": 'DPoP error="use_dpop_nonce"', "dpop-nonce": "api-1" },
        }),
    );
    const response = await c.fetch(api);
    expect(response.status).toBe(200);
    const calls = seen.filter((r) => r.url === api);
    expect(calls.length).toBe(2);
    expect((await verified(calls[0]?.dpop ?? null)).payload.nonce).toBeUndefined();
    expect((await verified(calls[1]?.dpop ?? null)).payload.nonce).toBe("api-1");
  });

  it("axios sends Authorization: DPoP with a proof, and answers use_dpop_nonce once", async () => {
    bound();
    const { c } = client();
    await c.signIn({ username: "maryo", password: "pw" });
    server.apiAnswers.push(
      () =>
        new Response(null, {
          status: 401,
          headers: { "www-authenticate": 'DPoP error="use_dpop_nonce"', "dpop-nonce": "api-2" },
        }),
    );
    const instance = axios.create({
      baseURL: server.issuer,
      adapter: async (config) => {
        const response = await fetchThrough(axios.getUri(config), {
          method: config.method?.toUpperCase() ?? "GET",
          headers: {
            authorization: String(config.headers.Authorization ?? ""),
            dpop: String(config.headers.DPoP ?? ""),
          },
        });
        const text = await response.text();
        const answer = {
          data: text ? JSON.parse(text) : null,
          status: response.status,
          statusText: response.statusText,
          headers: Object.fromEntries(response.headers),
          config,
        };
        if (response.status >= 400)
          throw new axios.AxiosError("failed", "ERR_BAD_REQUEST", config, null, answer);
        return answer;
      },
    });
    attachToAxios(instance, c);
    const { data } = await instance.delete("/api/things");
    expect(data.auth).toBe(`DPoP ${c.accessToken}`);
    const calls = seen.filter((r) => r.url.endsWith("/api/things"));
    const payloads = await Promise.all(calls.map(async (r) => (await verified(r.dpop)).payload));
    expect(payloads.map((p) => [p.htm, p.htu, p.nonce])).toEqual([
      ["DELETE", "https://auth.test/api/things", undefined],
      ["DELETE", "https://auth.test/api/things", "api-2"],
    ]);
    expect(payloads[1]?.ath).toBe(await sha256(c.accessToken as string));
  });

  it("takes a token with a cnf claim for bound whatever its token_type, as another tab's comes without one", async () => {
    bound();
    server.tokenType = "Bearer";
    const { c } = client();
    await c.signIn({ username: "maryo", password: "pw" });
    await c.fetch(api);
    expect(seen.at(-1)?.authorization).toBe(`DPoP ${c.accessToken}`);
  });
});
