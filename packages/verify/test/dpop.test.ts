import { createHmac } from "node:crypto";
import {
  checkDpopProof,
  MAX_PROOF_BYTES,
  type ProofCheck,
  ProofReplayCache,
  proofTarget,
  thumbprint,
  VerifyError,
} from "@prolong/verify";
import * as dpop from "dpop";
import { calculateJwkThumbprint } from "jose";
import { describe, expect, it } from "vitest";
import { b64, NOW } from "./fixtures.js";
import { ath, makeProof, proofKey, signProof } from "./proofs.js";

// RFC 9449 §4.3: every check a proof must pass, each one refused on its own.

const URL_ = "https://api.example.test/orders/7";
const es = proofKey("ES256");
const other = proofKey("ES256");
const check = (extra: Partial<ProofCheck> = {}): ProofCheck => ({
  method: "GET",
  url: URL_,
  now: NOW,
  ...extra,
});

async function refusal(proof: string, extra: Partial<ProofCheck> = {}): Promise<VerifyError> {
  const error = await checkDpopProof(proof, check(extra)).then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof VerifyError)) throw new Error(`expected a VerifyError, got ${String(error)}`);
  return error;
}

async function expectRefused(proof: string, message: RegExp, extra: Partial<ProofCheck> = {}) {
  const error = await refusal(proof, extra);
  expect(error.code).toBe("invalid_dpop_proof");
  expect(error.message).toMatch(message);
}

describe("checkDpopProof accepts", () => {
  it.each(["ES256", "EdDSA", "RS256", "PS256"] as const)("a well-formed %s proof", async (alg) => {
    const key = proofKey(alg);
    const proof = await checkDpopProof(makeProof(key, "GET", URL_, NOW, { claims: { jti: "j-1" } }), check());
    expect(proof).toEqual({
      jkt: await calculateJwkThumbprint(key.jwk, "sha256"),
      jti: "j-1",
      iat: NOW,
      // iat + 60 s lifetime + 5 s tolerance: as long as the proof could be accepted.
      expiresAt: NOW + 65,
    });
  });

  it("a proof at both edges of its window", async () => {
    await expect(checkDpopProof(makeProof(es, "GET", URL_, NOW - 64.5), check())).resolves.toBeTruthy();
    await expect(checkDpopProof(makeProof(es, "GET", URL_, NOW + 5), check())).resolves.toBeTruthy();
  });

  it("the ath of the access token it came with", async () => {
    const proof = makeProof(es, "GET", URL_, NOW, { claims: { ath: ath("the-token") } });
    await expect(checkDpopProof(proof, check({ accessToken: "the-token" }))).resolves.toBeTruthy();
  });

  it("an htu that differs only in query, fragment or normalisation", async () => {
    const cases: [string, string][] = [
      ["https://api.example.test/orders/7", "https://api.example.test/orders/7?page=2#top"],
      ["https://api.example.test/orders/7?x=1", "https://api.example.test/orders/7"],
      ["HTTPS://API.Example.TEST:443/orders/./7", "https://api.example.test/orders/7"],
      ["https://api.example.test/%7euser/a%2fb", "https://api.example.test/~user/a%2Fb"],
      ["https://api.example.test/a/../orders/7", "https://api.example.test/orders/7"],
    ];
    for (const [htu, url] of cases) {
      await expect(checkDpopProof(makeProof(es, "GET", htu, NOW), check({ url }))).resolves.toBeTruthy();
    }
  });

  it("a nonce the server's check accepts", async () => {
    const proof = makeProof(es, "GET", URL_, NOW, { claims: { nonce: "n-1" } });
    await expect(checkDpopProof(proof, check({ nonce: (n) => n === "n-1" }))).resolves.toBeTruthy();
  });
});

describe("checkDpopProof refuses", () => {
  it("a header whose typ is not dpop+jwt", async () => {
    await expectRefused(makeProof(es, "GET", URL_, NOW, { header: { typ: undefined } }), /typ/);
    await expectRefused(makeProof(es, "GET", URL_, NOW, { header: { typ: "jwt" } }), /typ/);
    await expectRefused(makeProof(es, "GET", URL_, NOW, { header: { typ: "at+jwt" } }), /typ/);
  });

  it("alg none, signed or not", async () => {
    const header = b64(JSON.stringify({ typ: "dpop+jwt", alg: "none", jwk: es.jwk }));
    const claims = b64(JSON.stringify({ jti: "j", htm: "GET", htu: URL_, iat: NOW }));
    await expectRefused(`${header}.${claims}.`, /not a compact JWS/);
    await expectRefused(`${header}.${claims}.AAAA`, /algorithm is not allowed/);
  });

  it("an HMAC proof, with or without an oct jwk", async () => {
    const secret = Buffer.alloc(32, 9);
    for (const jwk of [{ kty: "oct", k: secret.toString("base64url") }, es.jwk]) {
      const input = `${b64(JSON.stringify({ typ: "dpop+jwt", alg: "HS256", jwk }))}.${b64(
        JSON.stringify({ jti: "j", htm: "GET", htu: URL_, iat: NOW }),
      )}`;
      const mac = createHmac("sha256", secret).update(input).digest("base64url");
      await expectRefused(`${input}.${mac}`, /algorithm is not allowed/);
    }
  });

  it("an algorithm the server does not allow, even one of DPOP_ALGS", async () => {
    await expectRefused(makeProof(proofKey("RS256"), "GET", URL_, NOW), /algorithm is not allowed/, {
      algorithms: ["ES256"],
    });
    await expectRefused(makeProof(proofKey("EdDSA"), "GET", URL_, NOW), /algorithm is not allowed/, {
      algorithms: ["ES256"],
    });
  });

  it("a jwk with private members", async () => {
    const full = es.privateKey.export({ format: "jwk" });
    await expectRefused(makeProof(es, "GET", URL_, NOW, { header: { jwk: full } }), /private member d/);
    const withK = { ...es.jwk, k: "AAAA" };
    await expectRefused(makeProof(es, "GET", URL_, NOW, { header: { jwk: withK } }), /private member k/);
  });

  it("a missing jwk, one of another type than alg, or one whose alg or use contradict", async () => {
    await expectRefused(makeProof(es, "GET", URL_, NOW, { header: { jwk: undefined } }), /jwk is missing/);
    await expectRefused(makeProof(es, "GET", URL_, NOW, { header: { jwk: "text" } }), /jwk is missing/);
    const rsa = proofKey("RS256");
    await expectRefused(makeProof(es, "GET", URL_, NOW, { header: { jwk: rsa.jwk } }), /does not fit ES256/);
    await expectRefused(
      makeProof(es, "GET", URL_, NOW, { header: { jwk: { ...es.jwk, alg: "ES384" } } }),
      /alg/,
    );
    await expectRefused(
      makeProof(es, "GET", URL_, NOW, { header: { jwk: { ...es.jwk, use: "enc" } } }),
      /use/,
    );
    // The sender's text stays out of the message, which is logged.
    const long = { ...rsa.jwk, kty: `RSA${"x".repeat(500)}` };
    expect((await refusal(makeProof(es, "GET", URL_, NOW, { header: { jwk: long } }))).message).toBe(
      "DPoP proof jwk does not fit ES256",
    );
    // RFC 9864: an Ed25519 key may name its algorithm Ed25519.
    const ed = proofKey("EdDSA");
    const edProof = makeProof(ed, "GET", URL_, NOW, { header: { jwk: { ...ed.jwk, alg: "Ed25519" } } });
    await expect(checkDpopProof(edProof, check())).resolves.toBeTruthy();
  });

  it("a key named elsewhere or critical extensions", async () => {
    for (const header of [
      { jku: "https://evil.test/jwks" },
      { x5u: "https://evil.test/c" },
      { x5c: [] },
      { crit: ["b64"] },
    ])
      await expectRefused(makeProof(es, "GET", URL_, NOW, { header }), /refused|critical/);
  });

  it("a signature that does not verify under the header's key", async () => {
    // Signed by another key than the one the header names: the stolen-token case.
    const forged = makeProof(other, "GET", URL_, NOW, { header: { jwk: es.jwk } });
    await expectRefused(forged, /signature does not verify/);
    const proof = makeProof(es, "GET", URL_, NOW);
    const tampered = `${proof.slice(0, proof.lastIndexOf(".") + 1)}${b64("x".repeat(64))}`;
    await expectRefused(tampered, /signature/);
    const [h, , s] = proof.split(".");
    const swapped = `${h}.${b64(JSON.stringify({ jti: "j", htm: "POST", htu: URL_, iat: NOW }))}.${s}`;
    await expectRefused(swapped, /signature does not verify/);
  });

  it("an htm other than the request's method, compared exactly", async () => {
    await expectRefused(makeProof(es, "POST", URL_, NOW), /htm/);
    await expectRefused(makeProof(es, "get", URL_, NOW), /htm/);
    await expectRefused(makeProof(es, "GET", URL_, NOW, { claims: { htm: undefined } }), /htm/);
  });

  it("an htu for another URL", async () => {
    const others = [
      "https://api.example.test/orders/8",
      "https://api.example.test/orders/7/",
      "http://api.example.test/orders/7",
      "https://api.example.test:8443/orders/7",
      "https://other.example.test/orders/7",
      "https://api.example.test/orders/%37x",
    ];
    for (const htu of others) await expectRefused(makeProof(es, "GET", htu, NOW), /htu does not match/);
    await expectRefused(makeProof(es, "GET", "/orders/7", NOW), /htu is not a URL/);
    await expectRefused(makeProof(es, "GET", URL_, NOW, { claims: { htu: 7 } }), /htu is missing/);
  });

  it("an iat too old, in the future, or missing", async () => {
    // From expiresAt (iat + 65) on, when a replay cache may have forgotten the jti.
    await expectRefused(makeProof(es, "GET", URL_, NOW - 65), /too old/);
    await expectRefused(makeProof(es, "GET", URL_, NOW + 6), /future/);
    await expectRefused(makeProof(es, "GET", URL_, NOW - 11), /too old/, {
      lifetimeSeconds: 10,
      clockToleranceSeconds: 0,
    });
    await expectRefused(makeProof(es, "GET", URL_, NOW, { claims: { iat: String(NOW) } }), /iat is missing/);
    await expectRefused(makeProof(es, "GET", URL_, NOW, { claims: { iat: undefined } }), /iat is missing/);
  });

  it("a missing, empty or oversized jti", async () => {
    await expectRefused(makeProof(es, "GET", URL_, NOW, { claims: { jti: undefined } }), /jti is missing/);
    await expectRefused(makeProof(es, "GET", URL_, NOW, { claims: { jti: "" } }), /jti is missing/);
    await expectRefused(makeProof(es, "GET", URL_, NOW, { claims: { jti: 42 } }), /jti is missing/);
    await expectRefused(
      makeProof(es, "GET", URL_, NOW, { claims: { jti: "j".repeat(257) } }),
      /jti is too long/,
    );
    await expect(
      checkDpopProof(makeProof(es, "GET", URL_, NOW, { claims: { jti: "j".repeat(256) } }), check()),
    ).resolves.toBeTruthy();
  });

  it("an ath for another token, or none when a token came", async () => {
    const proof = makeProof(es, "GET", URL_, NOW, { claims: { ath: ath("token-a") } });
    await expectRefused(proof, /ath does not match/, { accessToken: "token-b" });
    await expectRefused(makeProof(es, "GET", URL_, NOW), /ath is missing/, { accessToken: "token-a" });
  });

  it("a missing or stale nonce with use_dpop_nonce, a non-string one as invalid", async () => {
    const seen: (string | undefined)[] = [];
    const nonce = (n: string | undefined) => {
      seen.push(n);
      return n === "fresh";
    };
    const missing = await refusal(makeProof(es, "GET", URL_, NOW), { nonce });
    expect([missing.code, missing.message]).toEqual(["use_dpop_nonce", "DPoP nonce is required"]);
    const stale = await refusal(makeProof(es, "GET", URL_, NOW, { claims: { nonce: "old" } }), { nonce });
    expect([stale.code, stale.message]).toEqual(["use_dpop_nonce", "DPoP nonce is stale"]);
    expect(seen).toEqual([undefined, "old"]);
    await expectRefused(makeProof(es, "GET", URL_, NOW, { claims: { nonce: 5 } }), /nonce is not a string/, {
      nonce,
    });
  });

  it("a proof that is oversized, not a JWS, or whose parts are not canonical JSON", async () => {
    await expectRefused("x".repeat(MAX_PROOF_BYTES + 1), /too large/);
    await expectRefused("", /empty/);
    await expectRefused("a.b", /not a compact JWS/);
    const dup = signProof(
      es,
      `{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":${JSON.stringify(es.jwk)}}`,
      JSON.stringify({ jti: "j", htm: "GET", htu: URL_, iat: NOW }),
    );
    await expectRefused(dup, /DPoP proof/);
    const notJson = signProof(es, JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk: es.jwk }), "[1]");
    await expectRefused(notJson, /claims are not a JSON object/);
  });
});

describe("proofTarget", () => {
  it("is origin and path, normalised, without query or fragment", () => {
    expect(proofTarget("HTTPS://Api.Example.test:443/a/./b/../c%7e%2f?q=1#f")).toBe(
      "https://api.example.test/a/c~%2F",
    );
    expect(proofTarget(new URL("http://127.0.0.1:8080/x"))).toBe("http://127.0.0.1:8080/x");
    expect(() => proofTarget("/relative")).toThrow(TypeError);
  });
});

describe("thumbprint", () => {
  it("is the RFC 7638 thumbprint (its §3.1 example)", async () => {
    const jwk = {
      kty: "RSA",
      n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
      e: "AQAB",
      alg: "RS256",
      kid: "2011-04-29",
    };
    expect(await thumbprint(jwk)).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  });
});

describe("ProofReplayCache", () => {
  it("refuses a key claimed before, until the claim expires", () => {
    const cache = new ProofReplayCache(10);
    expect(cache.claim("k", NOW + 65, NOW)).toBe(true);
    expect(cache.claim("k", NOW + 65, NOW)).toBe(false);
    expect(cache.claim("k", NOW + 65, NOW + 64)).toBe(false);
    expect(cache.claim("k", NOW + 200, NOW + 65)).toBe(true);
    expect(cache.claim("k", NOW + 200, NOW + 100)).toBe(false);
  });

  it("stays within its bound, dropping expired claims before live ones", () => {
    const cache = new ProofReplayCache(3);
    cache.claim("a", NOW + 10, NOW);
    cache.claim("b", NOW + 100, NOW);
    cache.claim("c", NOW + 100, NOW);
    // Full; "a" has expired at NOW + 20, so it goes and "b" stays.
    expect(cache.claim("d", NOW + 100, NOW + 20)).toBe(true);
    expect(cache.size).toBe(3);
    expect(cache.claim("b", NOW + 100, NOW + 20)).toBe(false);
    // Full of live claims: the oldest is forgotten to make room.
    expect(cache.claim("e", NOW + 100, NOW + 20)).toBe(true);
    expect(cache.size).toBe(3);
    expect(cache.claim("b", NOW + 100, NOW + 20)).toBe(true);
    expect(cache.claim("d", NOW + 100, NOW + 20)).toBe(false);
    for (let i = 0; i < 1000; i++) cache.claim(`k${i}`, NOW + 100, NOW + 20);
    expect(cache.size).toBe(3);
  });

  it("takes only a positive integer bound", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new ProofReplayCache(bad)).toThrow(TypeError);
  });
});

describe("interop with the dpop package", () => {
  // It names Ed25519 proofs `Ed25519` (RFC 9864), the others by their JWS names.
  it.each(["ES256", "RS256", "PS256", "Ed25519"] as const)("accepts its %s proofs", async (alg) => {
    const pair = await dpop.generateKeyPair(alg);
    const now = Math.floor(Date.now() / 1000);
    const url = "https://api.example.test/orders";
    const proof = await dpop.generateProof(pair, `${url}?page=1`, "POST", "n-1", "an-access-token");
    const result = await checkDpopProof(proof, {
      method: "POST",
      url: `${url}?page=1`,
      now,
      accessToken: "an-access-token",
      nonce: (n) => n === "n-1",
    });
    expect(result.jkt).toBe(await dpop.calculateThumbprint(pair.publicKey));
    // Its proofs for another method or another token do not pass.
    await expect(checkDpopProof(proof, { method: "GET", url, now })).rejects.toThrow(/htm/);
    await expect(
      checkDpopProof(proof, { method: "POST", url, now, accessToken: "another-token" }),
    ).rejects.toThrow(/ath/);
  });
});
