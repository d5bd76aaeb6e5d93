import {
  createVerifier,
  DEFAULT_CLOCK_TOLERANCE,
  importVerificationKey,
  type VerificationKey,
  type VerifierOptions,
} from "@prolong/verify";
import { describe, expect, it } from "vitest";
import { AUDIENCE, b64, claims, ISSUER, makeKeys, NOW, signRaw, type TestKey, token } from "./fixtures.js";

const keys = makeKeys();

async function verifier(options: Partial<VerifierOptions> = {}) {
  return createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [keys.EdDSA.jwk, keys.ES256.jwk, keys.RS256.jwk],
    now: () => NOW * 1000,
    ...options,
  });
}

async function reason(token: string, options: Partial<VerifierOptions> = {}) {
  const result = await (await verifier(options)).verify(token);
  return result.ok ? "accepted" : `${result.code}: ${result.reason}`;
}

const header = (key: TestKey, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ alg: key.alg, typ: "at+jwt", kid: key.kid, ...extra });

describe("the verifier accepts prolong's tokens", () => {
  it.each(["EdDSA", "ES256", "RS256"] as const)("%s", async (alg) => {
    const result = await (await verifier()).verify(token(keys[alg]));
    expect(result).toMatchObject({ ok: true, renewSoon: false, claims: { sub: "user-1", sid: "session-1" } });
  });

  it("HS256 only when asked for", async () => {
    const hs = token(keys.HS256);
    expect(await reason(hs, { keys: [keys.HS256.jwk] }).catch((e: Error) => e.message)).toContain(
      "not allowed",
    );
    expect(await reason(hs, { keys: [keys.HS256.jwk], algorithms: ["HS256"] })).toBe("accepted");
  });

  it("says renew soon once rfa has passed (P11)", async () => {
    const result = await (await verifier({ now: () => (NOW + 241) * 1000 })).verify(token(keys.EdDSA));
    expect(result).toMatchObject({ ok: true, renewSoon: true });
  });
});

describe("header rules", () => {
  it("requires typ at+jwt (RFC 9068 §4)", async () => {
    expect(await reason(token(keys.EdDSA, {}, { typ: "JWT" }))).toMatch(/^invalid_token: typ/);
    expect(
      await reason(
        signRaw(keys.EdDSA, JSON.stringify({ alg: "EdDSA", kid: "ed-1" }), JSON.stringify(claims())),
      ),
    ).toMatch(/typ/);
    expect(await reason(token(keys.EdDSA, {}, { typ: "application/at+jwt" }))).toBe("accepted");
  });

  it("refuses alg none in any spelling", async () => {
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      const unsigned = `${b64(JSON.stringify({ alg, typ: "at+jwt", kid: "ed-1" }))}.${b64(JSON.stringify(claims()))}.`;
      expect(await reason(unsigned)).toMatch(/^invalid_token/);
      expect(await reason(`${unsigned}AAAA`)).toMatch(/algorithm is not allowed/);
    }
  });

  it("refuses HMAC signed with a public key as the secret (algorithm confusion)", async () => {
    const publicKeyText = Buffer.from(JSON.stringify(keys.RS256.jwk));
    const forged = signRaw(
      { ...keys.HS256, privateKey: publicKeyText },
      JSON.stringify({ alg: "HS256", typ: "at+jwt", kid: "rsa-1" }),
      JSON.stringify(claims()),
      "HS256",
    );
    // Not allowed by default, and with HS256 allowed the RSA key still refuses to be an HMAC key.
    expect(await reason(forged)).toMatch(/algorithm is not allowed/);
    expect(await reason(forged, { algorithms: ["RS256", "HS256"], keys: [keys.RS256.jwk] })).toMatch(
      /algorithm does not match the key/,
    );
  });

  it("refuses an algorithm that does not match the key", async () => {
    const mismatched = signRaw(keys.ES256, header(keys.ES256, { kid: "ed-1" }), JSON.stringify(claims()));
    expect(await reason(mismatched)).toMatch(/does not match/);
  });

  it("requires a kid and knows only its own keys", async () => {
    const noKid = signRaw(
      keys.EdDSA,
      JSON.stringify({ alg: "EdDSA", typ: "at+jwt" }),
      JSON.stringify(claims()),
    );
    expect(await reason(noKid)).toMatch(/kid is missing/);
    expect(await reason(token(keys.EdDSA, {}, { kid: 7 }))).toMatch(/kid is missing/);
    expect(await reason(token(keys.EdDSA, {}, { kid: "someone-else" }))).toMatch(/unknown kid/);
  });

  it("never follows jku, x5u, jwk or x5c", async () => {
    for (const name of ["jku", "x5u", "jwk", "x5c"]) {
      expect(await reason(token(keys.EdDSA, {}, { [name]: "https://evil.example/keys" }))).toMatch(name);
    }
  });

  it("refuses crit extensions it does not understand", async () => {
    expect(await reason(token(keys.EdDSA, {}, { crit: ["exp"], exp: 1 }))).toMatch(/critical/);
  });
});

describe("key rules", () => {
  it("refuses RSA keys under 2048 bits and HMAC secrets under 256 bits", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "jwk" });
    await expect(verifier({ keys: [{ ...weak, kid: "weak" }] })).rejects.toThrow(/2048/);
    const short = { kty: "oct", k: Buffer.alloc(16).toString("base64url"), kid: "short" };
    await expect(verifier({ keys: [short], algorithms: ["HS256"] })).rejects.toThrow(/256 bits/);
  });
});

describe("an in-process key lookup", () => {
  it("finds keys by kid without a JWKS, and sees a key added later at once", async () => {
    const ring = new Map<string, VerificationKey>();
    const lookup = (kid: string) => ring.get(kid);
    const verifier = await createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keyLookup: lookup,
      now: () => NOW * 1000,
    });
    expect(await verifier.verify(token(keys.EdDSA))).toMatchObject({ ok: false, code: "invalid_token" });
    ring.set("ed-1", await importVerificationKey(keys.EdDSA.jwk, ["EdDSA"]));
    expect((await verifier.verify(token(keys.EdDSA))).ok).toBe(true);
    // The key decides the algorithm: a token naming another one is refused.
    ring.set("ec-1", { ...(await importVerificationKey(keys.ES256.jwk, ["ES256"])), kid: "ec-1" });
    const forged = signRaw(
      keys.ES256,
      header(keys.EdDSA, { alg: "ES256", kid: "ed-1" }),
      JSON.stringify(claims()),
    );
    expect((await verifier.verify(forged)).ok).toBe(false);
    await expect(createVerifier({ issuer: ISSUER, audience: AUDIENCE })).rejects.toThrow(/keyLookup/);
  });
});

describe("claims rules", () => {
  it("requires iss, aud, exp, iat, sub, jti and sid", async () => {
    for (const name of ["iss", "aud", "exp", "iat", "sub", "jti", "sid"]) {
      expect(await reason(token(keys.EdDSA, { [name]: undefined })), name).toMatch(/^invalid_token/);
    }
  });

  it("requires prolong's client_id, ver, auth_time and rfa too, so every accepted token fits AccessTokenClaims", async () => {
    for (const name of ["client_id", "ver", "auth_time", "rfa"]) {
      expect(await reason(token(keys.EdDSA, { [name]: undefined })), name).toMatch(/^invalid_token/);
    }
    for (const [name, value] of [
      ["client_id", ""],
      ["ver", 1.5],
      ["auth_time", "yesterday"],
      ["rfa", -1],
    ] as const) {
      expect(await reason(token(keys.EdDSA, { [name]: value })), name).toMatch(/^invalid_token/);
    }
  });

  it("refuses the wrong issuer or audience", async () => {
    expect(await reason(token(keys.EdDSA, { iss: "https://evil.example" }))).toMatch(/wrong issuer/);
    expect(await reason(token(keys.EdDSA, { aud: "another-api" }))).toMatch(/wrong audience/);
    expect(await reason(token(keys.EdDSA, { aud: ["another-api", AUDIENCE] }))).toBe("accepted");
  });

  it("tells expired from invalid, with the clock tolerance (default 5 s)", async () => {
    expect(DEFAULT_CLOCK_TOLERANCE).toBe(5);
    expect(await reason(token(keys.EdDSA, { exp: NOW - 4, iat: NOW - 300 }))).toBe("accepted");
    expect(await reason(token(keys.EdDSA, { exp: NOW - 6, iat: NOW - 300 }))).toMatch(/^expired/);
    const lenient = { clockTolerance: 30 };
    expect(await reason(token(keys.EdDSA, { exp: NOW - 29, iat: NOW - 300 }), lenient)).toBe("accepted");
    expect(await reason(token(keys.EdDSA, { exp: NOW - 31, iat: NOW - 300 }), lenient)).toMatch(/^expired/);
    // An expired forgery is invalid, not expired: the signature is checked first.
    const tampered = `${token(keys.EdDSA, { exp: NOW - 100, iat: NOW - 300 }).slice(0, -6)}AAAAAA`;
    expect(await reason(tampered)).toMatch(/^invalid_token/);
  });

  it("bounds the lifetime and refuses tokens from the future", async () => {
    expect(await reason(token(keys.EdDSA, { exp: NOW + 86_400 * 365 }))).toMatch(/lifetime/);
    expect(await reason(token(keys.EdDSA, { exp: NOW + 3600 }), { maxTokenAge: 600 })).toMatch(/lifetime/);
    expect(await reason(token(keys.EdDSA, { iat: NOW + 120, exp: NOW + 400 }))).toMatch(/future/);
    expect(await reason(token(keys.EdDSA, { nbf: NOW + 120 }))).toMatch(/not valid yet/);
    expect(await reason(token(keys.EdDSA, { exp: "soon" }))).toMatch(/^invalid_token/);
  });
});

describe("input rules", () => {
  it("refuses tokens over the size limit before parsing them", async () => {
    const big = token(keys.EdDSA, { padding: "x".repeat(9000) });
    expect(await reason(big)).toMatch(/too large/);
    expect(await reason(`${"a".repeat(10_000)}.b.c`)).toMatch(/too large/);
  });

  it("refuses duplicate member names and prototype-polluting names", async () => {
    const base = JSON.stringify(claims());
    const duplicate = `${base.slice(0, -1)},"sub":"admin"}`;
    expect(await reason(signRaw(keys.EdDSA, header(keys.EdDSA), duplicate))).toMatch(
      /duplicate member "sub"/,
    );
    const dupHeader = `{"alg":"EdDSA","typ":"at+jwt","kid":"ed-1","alg":"EdDSA"}`;
    expect(await reason(signRaw(keys.EdDSA, dupHeader, base))).toMatch(/duplicate/);
    const polluted = `${base.slice(0, -1)},"__proto__":{"admin":true}}`;
    expect(await reason(signRaw(keys.EdDSA, header(keys.EdDSA), polluted))).toMatch(/forbidden member/);
    const nested = `${base.slice(0, -1)},"x":{"constructor":{"prototype":1}}}`;
    expect(await reason(signRaw(keys.EdDSA, header(keys.EdDSA), nested))).toMatch(/forbidden member/);
    // Same names at different depths are fine.
    const ok = `${base.slice(0, -1)},"profile":{"sub":"nested"}}`;
    expect(await reason(signRaw(keys.EdDSA, header(keys.EdDSA), ok))).toBe("accepted");
  });

  it("refuses a malleated copy of a valid signature", async () => {
    const good = token(keys.ES256);
    const [h, p, s] = good.split(".") as [string, string, string];
    // Padding, a foreign character, or flipped unused bits decode to the same bytes elsewhere.
    expect(await reason(`${h}.${p}.${s}=`)).toMatch(/^invalid_token/);
    expect(await reason(`${h}.${p}.${s.slice(0, 10)}+${s.slice(11)}`)).toMatch(/^invalid_token/);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(s.at(-1) as string);
    const twin = `${s.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(Buffer.from(twin, "base64url").equals(Buffer.from(s, "base64url"))).toBe(true);
    expect(await reason(`${h}.${p}.${twin}`)).toMatch(/not canonical/);
    expect(await reason(good)).toBe("accepted");
  });

  it("refuses JWE, JSON serialization and other shapes", async () => {
    for (const bad of [
      "",
      "a",
      "a.b",
      "a.b.c.d.e",
      "..",
      '{"payload":"x"}',
      "eyJ.eyJ.",
      "eyJhbGciOiJFZERTQSJ9..sig",
    ]) {
      expect(await reason(bad), bad).toMatch(/^invalid_token/);
    }
  });
});

describe("the verification cache", () => {
  it("serves repeats but still honours exp", async () => {
    let now = NOW * 1000;
    const v = await verifier({ cacheSize: 10, now: () => now });
    const t = token(keys.EdDSA);
    expect((await v.verify(t)).ok).toBe(true);
    expect((await v.verify(t)).ok).toBe(true);
    now = (NOW + 400) * 1000;
    expect(await v.verify(t)).toMatchObject({ ok: false, code: "expired" });
  });
});
