import type { DpopKeyPair, DpopKeyStore, LockManagerLike } from "@prolong/client";
import { calculateJwkThumbprint, type JWK } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeProof } from "../src/dpop.js";
import { loadKey } from "../src/dpop-key.js";
import { DpopHarness, sha256, verified } from "./dpop-harness.js";

let h: DpopHarness;
beforeEach(() => {
  h = new DpopHarness();
});
afterEach(() => h.stop());

/** A key store in memory that counts its calls and can be made slow, as IndexedDB is. */
function countingStore(delayMs = 0) {
  let held: DpopKeyPair | null = null;
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
    await expect(crypto.subtle.exportKey("jwk", key.pair.privateKey as CryptoKey)).rejects.toThrow();
  });
});

describe("the client with dpop", () => {
  it("sends a proof with sign-in, refresh, handoff and revocation, all by one key, and none for the metadata", async () => {
    const { c } = h.client();
    await c.signIn({ username: "maryo", password: "pw" });
    await c.refresh();
    await c.redeemHandoff("code-1");
    await c.signOut();
    const metadata = h.seen.filter((r) => r.url.endsWith("/.well-known/oauth-authorization-server"));
    expect(metadata.map((r) => r.dpop)).toEqual([null]);
    const endpoints = h.seen.filter((r) => r !== metadata[0]);
    expect(endpoints.map((r) => r.url)).toEqual([
      `${h.server.issuer}/login`,
      `${h.server.issuer}/oauth/token`,
      `${h.server.issuer}/oauth/token`,
      `${h.server.issuer}/oauth/revoke`,
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
    h.server.skewMs = 3_600_000;
    const { c } = h.client();
    await c.signIn({ username: "maryo", password: "pw" });
    await c.refresh();
    const refresh = h.seen.find((r) => r.url.endsWith("/oauth/token"));
    const { payload } = await verified(refresh?.dpop ?? null);
    expect(Math.abs((payload.iat as number) - h.server.now() / 1000)).toBeLessThan(5);
  });

  it("without the option sends no proof", async () => {
    const { c } = h.client({ dpop: false });
    await c.signIn({ username: "maryo", password: "pw" });
    await c.refresh();
    expect(h.seen.length).toBe(3);
    expect(h.seen.every((r) => r.dpop === null)).toBe(true);
  });

  it("answers use_dpop_nonce once with the server's nonce, and sends it again unasked (RFC 9449 §8)", async () => {
    h.before = (request) => {
      if (new URL(request.url).pathname === "/.well-known/oauth-authorization-server") return undefined;
      const proof = request.headers.get("dpop") as string;
      const { nonce } = JSON.parse(Buffer.from(proof.split(".")[1] as string, "base64url").toString());
      if (nonce === "n-1") return undefined;
      return Response.json({ error: "use_dpop_nonce" }, { status: 400, headers: { "dpop-nonce": "n-1" } });
    };
    const { c } = h.client();
    await c.signIn({ username: "maryo", password: "pw" });
    expect(c.accessToken).not.toBeNull();
    await c.refresh();
    const nonces = await Promise.all(
      h.seen.filter((r) => r.dpop).map(async (r) => [r.url, (await verified(r.dpop)).payload.nonce]),
    );
    expect(nonces).toEqual([
      [`${h.server.issuer}/login`, undefined],
      [`${h.server.issuer}/login`, "n-1"],
      [`${h.server.issuer}/oauth/token`, "n-1"],
    ]);
  });

  it("retries use_dpop_nonce only once: a server that never takes its own nonce gets two requests", async () => {
    let serial = 0;
    h.before = (request) =>
      request.url.endsWith("/login")
        ? Response.json(
            { error: "use_dpop_nonce" },
            { status: 400, headers: { "dpop-nonce": `n-${++serial}` } },
          )
        : undefined;
    const { c } = h.client();
    await expect(c.signIn({ username: "maryo", password: "pw" })).rejects.toMatchObject({
      code: "use_dpop_nonce",
      status: 400,
    });
    expect(h.seen.filter((r) => r.url.endsWith("/login")).length).toBe(2);
  });

  it("reports a refused proof at refresh as invalid_dpop_proof, and keeps the session", async () => {
    const { c, errors } = h.client();
    await c.signIn({ username: "maryo", password: "pw" });
    h.server.tokenAnswers.push(() => Response.json({ error: "invalid_dpop_proof" }, { status: 400 }));
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
    const { c, errors } = h.client({ dpop: { keyStore: flaky } });
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
    const { c } = h.client({ dpop: { keyStore: { load: async () => rsa, save: async () => {} } } });
    await expect(c.signIn({ username: "maryo", password: "pw" })).rejects.toMatchObject({
      code: "dpop_key_unavailable",
      message: expect.stringContaining("dpop.keyStore"),
    });
  });

  it("keeps its key in the host's keyStore: a second client (the app run again) proves with the same key", async () => {
    const { store, calls } = countingStore();
    const first = h.client({ dpop: { keyStore: store } });
    await first.c.signIn({ username: "maryo", password: "pw" });
    const second = h.client({ dpop: { keyStore: store } });
    await second.c.signIn({ username: "maryo", password: "pw" });
    const [a, b] = await Promise.all(h.seen.filter((r) => r.dpop).map((r) => verified(r.dpop)));
    expect(a?.jkt).toBe(b?.jkt);
    expect(calls.save).toBe(1);
  });

  it("makes one key for tabs that start together, under a Web Lock of its own", async () => {
    // A slow store: without the lock every tab would find none and make its own.
    const { store, calls } = countingStore(20);
    const locks = exclusiveLocks();
    const tabs = [1, 2, 3, 4].map(() => h.client({ dpop: { keyStore: store }, locks }));
    await Promise.all(tabs.map(({ c }) => c.signIn({ username: "maryo", password: "pw" })));
    const proofs = await Promise.all(h.seen.filter((r) => r.dpop).map((r) => verified(r.dpop)));
    expect(proofs.length).toBe(4);
    expect(new Set(proofs.map((p) => p.jkt)).size).toBe(1);
    expect(calls.save).toBe(1);
  });
});
