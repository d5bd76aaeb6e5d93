import {
  createDpopNonces,
  createVerifier,
  type DpopRequest,
  ProofReplayCache,
  type VerifierOptions,
} from "@prolong/verify";
import { calculateJwkThumbprint, importJWK, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { AUDIENCE, ISSUER, makeKeys, NOW, token } from "./fixtures.js";
import { ath, makeProof, type ProofKey, proofKey } from "./proofs.js";

// The verifier's side of RFC 9449 §7: which tokens need a proof, and what a proof must
// prove about the token and the request. The HTTP answers are in dpop-adapters.test.ts.

const keys = makeKeys();
const URL_ = "https://api.example.test/orders";
const key = proofKey("ES256");
const jkt = await calculateJwkThumbprint(key.jwk, "sha256");
const bound = token(keys.EdDSA, { cnf: { jkt } });
const unbound = token(keys.EdDSA);

const verifier = (extra: Partial<VerifierOptions> = {}) =>
  createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [keys.EdDSA.jwk],
    now: () => NOW * 1000,
    ...extra,
  });

const request = (proof: string | string[] | undefined): DpopRequest => ({ proof, method: "GET", url: URL_ });
const proofFor = (k: ProofKey, t: string, claims: Record<string, unknown> = {}) =>
  makeProof(k, "GET", URL_, NOW, { claims: { ath: ath(t), ...claims } });

describe("a token bound to a key (cnf.jkt)", () => {
  it("is refused by verify(), which sees no proof (RFC 9449 §7.2)", async () => {
    expect(await (await verifier()).verify(bound)).toEqual({
      ok: false,
      code: "invalid_token",
      reason: "token is bound to a DPoP key",
    });
  });

  it("passes verify() for a caller that checks the binding itself", async () => {
    const result = await (await verifier({ boundTokens: "accept" })).verify(bound);
    expect(result.ok && result.claims.cnf).toEqual({ jkt });
  });

  it("passes verifyDpop() with a proof made with its key, and jose reads the same binding", async () => {
    const result = await (await verifier()).verifyDpop(bound, request(proofFor(key, bound)));
    expect(result).toMatchObject({ ok: true, claims: { sub: "user-1", cnf: { jkt } } });
    // What the verifier matched is the RFC 7638 thumbprint jose computes of the proof key.
    const { payload } = await jwtVerify(bound, await importJWK(keys.EdDSA.jwk, "EdDSA"), {
      issuer: ISSUER,
      audience: AUDIENCE,
      currentDate: new Date(NOW * 1000),
    });
    expect(payload.cnf).toEqual({ jkt: await calculateJwkThumbprint(key.jwk) });
  });

  it("is refused with a proof of another key, or none, or two", async () => {
    const v = await verifier();
    const cases: [DpopRequest, string][] = [
      [request(proofFor(proofKey("ES256"), bound)), "DPoP proof key is not the token's key"],
      [request(undefined), "DPoP proof is missing"],
      [request([]), "DPoP proof is missing"],
      [request([proofFor(key, bound), proofFor(key, bound)]), "more than one DPoP proof"],
      [request(`${proofFor(key, bound)}, ${proofFor(key, bound)}`), "more than one DPoP proof"],
    ];
    for (const [req, reason] of cases)
      expect(await v.verifyDpop(bound, req)).toEqual({ ok: false, code: "invalid_dpop_proof", reason });
  });

  it("is refused when the proof's ath is for another token", async () => {
    expect(await (await verifier()).verifyDpop(bound, request(proofFor(key, unbound)))).toEqual({
      ok: false,
      code: "invalid_dpop_proof",
      reason: "DPoP proof ath does not match the access token",
    });
  });

  it("is refused when a proof comes again, until the proof would be too old anyway", async () => {
    const clock = { now: NOW * 1000 };
    const v = await verifier({ now: () => clock.now });
    const proof = proofFor(key, bound);
    expect((await v.verifyDpop(bound, request(proof))).ok).toBe(true);
    expect(await v.verifyDpop(bound, request(proof))).toMatchObject({ reason: "DPoP proof was used before" });
    clock.now = (NOW + 64.9) * 1000;
    expect(await v.verifyDpop(bound, request(proof))).toMatchObject({ reason: "DPoP proof was used before" });
    // expiresAt: the cache may forget the jti, because the proof is refused from now on.
    clock.now = (NOW + 65) * 1000;
    expect(await v.verifyDpop(bound, request(proof))).toMatchObject({ reason: "DPoP proof iat is too old" });
  });

  it("shares replays through the guard it is given, and answers unavailable when that fails", async () => {
    const shared = new ProofReplayCache(100);
    const one = await verifier({ dpop: { replay: shared } });
    const two = await verifier({ dpop: { replay: shared } });
    const proof = proofFor(key, bound);
    expect((await one.verifyDpop(bound, request(proof))).ok).toBe(true);
    expect(await two.verifyDpop(bound, request(proof))).toMatchObject({ code: "invalid_dpop_proof" });
    const down = await verifier({
      dpop: { replay: { claim: () => Promise.reject(new Error("store is down")) } },
    });
    expect(await down.verifyDpop(bound, request(proofFor(key, bound)))).toMatchObject({
      code: "unavailable",
    });
  });

  it("keeps the token's own refusals under the DPoP scheme", async () => {
    const expired = token(keys.EdDSA, { cnf: { jkt }, iat: NOW - 400, exp: NOW - 100, rfa: NOW - 160 });
    expect(await (await verifier()).verifyDpop(expired, request(proofFor(key, expired)))).toMatchObject({
      code: "expired",
    });
  });
});

describe("confirmation claims the verifier cannot check", () => {
  const cases: [string, unknown][] = [
    ["a cnf that is not an object", "jkt"],
    ["another confirmation method", { "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" }],
    ["a jkt beside another method", { jkt, "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" }],
    ["a jkt that is no SHA-256 thumbprint", { jkt: "short" }],
  ];
  it.each(cases)("refuses %s, with or without a proof", async (_name, cnf) => {
    const odd = token(keys.EdDSA, { cnf });
    for (const v of [await verifier(), await verifier({ boundTokens: "accept" })]) {
      expect(await v.verifyDpop(odd, request(proofFor(key, odd)))).toMatchObject({ code: "invalid_token" });
    }
    for (const v of [await verifier(), await verifier({ boundTokens: "accept" })])
      expect(await v.verify(odd)).toMatchObject({ code: "invalid_token" });
  });
});

describe("an unbound token under the DPoP scheme", () => {
  it("is refused: there is no key for the proof to match (RFC 9449 §7.1)", async () => {
    expect(await (await verifier()).verifyDpop(unbound, request(proofFor(key, unbound)))).toEqual({
      ok: false,
      code: "invalid_token",
      reason: "token is not bound to a DPoP key",
    });
    expect((await (await verifier()).verify(unbound)).ok).toBe(true);
  });
});

describe("DPoP algorithms", () => {
  it("takes only DPOP_ALGS, and refuses proofs outside the configured ones", async () => {
    await expect(verifier({ dpop: { algorithms: ["HS256" as "ES256"] } })).rejects.toThrow(TypeError);
    const v = await verifier({ dpop: { algorithms: ["EdDSA"] } });
    expect(v.dpopAlgorithms).toEqual(["EdDSA"]);
    expect(await v.verifyDpop(bound, request(proofFor(key, bound)))).toMatchObject({
      reason: "DPoP proof algorithm is not allowed",
    });
  });
});

describe("server nonces (RFC 9449 §9)", () => {
  const secret = new Uint8Array(32).fill(5);

  it("ask a proof without a nonce, or with a stale one, for the current nonce", async () => {
    const nonces = createDpopNonces({ secret, now: () => NOW * 1000 });
    const v = await verifier({ dpop: { nonces } });
    const current = await nonces.current();
    expect(await v.verifyDpop(bound, request(proofFor(key, bound)))).toEqual({
      ok: false,
      code: "use_dpop_nonce",
      reason: "DPoP nonce is required",
      nonce: current,
    });
    expect(await v.verifyDpop(bound, request(proofFor(key, bound, { nonce: "old" })))).toMatchObject({
      code: "use_dpop_nonce",
      reason: "DPoP nonce is stale",
      nonce: current,
    });
    const ok = await v.verifyDpop(bound, request(proofFor(key, bound, { nonce: current })));
    expect(ok.ok && ok.nonce).toBe(undefined);
  });

  it("accept the previous window's nonce with a fresh one, and not older ones", async () => {
    const clock = { now: NOW * 1000 };
    const nonces = createDpopNonces({ secret, windowSeconds: 60, now: () => clock.now });
    const first = await nonces.current();
    clock.now += 60_000;
    const second = await nonces.current();
    expect(second).not.toBe(first);
    expect([await nonces.accepts(first), await nonces.accepts(second)]).toEqual([true, true]);
    const v = await verifier({ dpop: { nonces }, now: () => clock.now });
    const result = await v.verifyDpop(
      bound,
      request(makeProof(key, "GET", URL_, clock.now / 1000, { claims: { ath: ath(bound), nonce: first } })),
    );
    expect(result).toMatchObject({ ok: true, nonce: second });
    clock.now += 60_000;
    expect(await nonces.accepts(first)).toBe(false);
  });

  it("are the same on every instance with the secret, and only there", async () => {
    const at = () => NOW * 1000;
    const a = await createDpopNonces({ secret, now: at }).current();
    expect(await createDpopNonces({ secret, now: at }).current()).toBe(a);
    expect(await createDpopNonces({ secret: new Uint8Array(32).fill(6), now: at }).current()).not.toBe(a);
    expect(() => createDpopNonces({ secret: "too short" })).toThrow(/32 bytes/);
    expect(() => createDpopNonces({ secret, windowSeconds: 0 })).toThrow(/windowSeconds/);
  });
});
