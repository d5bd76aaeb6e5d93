import { generateKeyPairSync } from "node:crypto";
import { KeyRing, ProlongError, type RingKey, signAccessToken } from "@prolong/core";
import { type AccessTokenClaims, SIGNING_ALGS, type SigningAlg } from "@prolong/protocol";
import { createVerifier } from "@prolong/verify";
import { importJWK, type JWK, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { decodeJwt, FakeClock, testStore } from "./fixtures.js";

const issuer = "https://auth.example.test";
const audience = "prolong";

async function activeKey(alg: SigningAlg, clock: FakeClock): Promise<RingKey> {
  return (await KeyRing.load({ store: (await testStore()).keys, clock, alg, retainFor: 360 })).active;
}

function claimsAt(clock: FakeClock): AccessTokenClaims {
  const iat = Math.floor(clock.now() / 1000);
  return {
    iss: issuer,
    sub: "user-1",
    aud: audience,
    exp: iat + 300,
    iat,
    jti: "AAECAwQFBgcICQoLDA0ODw",
    client_id: "web",
    sid: "8O_u7ezr6uno5-bl5OPi4Q",
    ver: 2,
    auth_time: iat - 60,
    rfa: iat + 240,
    roles: ["reader"],
    name: "Zoë",
  };
}

/** What a resource server would be given: the published JWK, or the shared secret for HS256. */
function verifierJwk(key: RingKey): JWK {
  if (key.publicJwk) return key.publicJwk;
  return { kty: "oct", k: Buffer.from(key.signingKey as Uint8Array).toString("base64url"), kid: key.kid };
}

describe("access-token signing on node:crypto", () => {
  it.each(SIGNING_ALGS)("%s: header is exactly {alg, typ, kid} and jose verifies it", async (alg) => {
    const clock = new FakeClock();
    const key = await activeKey(alg, clock);
    const claims = claimsAt(clock);
    const token = signAccessToken(key, claims);
    const [header] = token.split(".");
    expect(Buffer.from(header ?? "", "base64url").toString()).toBe(
      JSON.stringify({ alg, typ: "at+jwt", kid: key.kid }),
    );
    const verified = await jwtVerify(token, key.verificationKey, {
      algorithms: [alg],
      typ: "at+jwt",
      issuer,
      audience,
      currentDate: new Date(clock.now()),
    });
    expect(verified.protectedHeader).toEqual({ alg, typ: "at+jwt", kid: key.kid });
    expect(verified.payload).toEqual(claims);
  });

  it.each(SIGNING_ALGS)("%s: @prolong/verify accepts it", async (alg) => {
    const clock = new FakeClock();
    const key = await activeKey(alg, clock);
    const claims = claimsAt(clock);
    const verifier = await createVerifier({
      issuer,
      audience,
      keys: [verifierJwk(key)],
      algorithms: [alg],
      now: () => clock.now(),
    });
    expect(await verifier.verify(signAccessToken(key, claims))).toEqual({
      ok: true,
      claims,
      renewSoon: false,
    });
  });

  // EdDSA, RS256 (PKCS#1 v1.5) and HMAC are deterministic, so the bytes must match jose's exactly.
  it.each(["EdDSA", "RS256", "HS256"] as const)("%s: signs the very bytes jose signs", async (alg) => {
    const clock = new FakeClock();
    const key = await activeKey(alg, clock);
    const claims = claimsAt(clock);
    const expected = await new SignJWT(claims)
      .setProtectedHeader({ alg, typ: "at+jwt", kid: key.kid })
      .sign(key.signingKey);
    expect(signAccessToken(key, claims)).toBe(expected);
  });

  it("ES256 signatures are the raw 64-byte R || S of RFC 7518 §3.4, not DER", async () => {
    const clock = new FakeClock();
    const key = await activeKey("ES256", clock);
    const token = signAccessToken(key, claimsAt(clock));
    expect(Buffer.from(token.split(".")[2] ?? "", "base64url")).toHaveLength(64);
    expect(decodeJwt(token).header).toEqual({ alg: "ES256", typ: "at+jwt", kid: key.kid });
  });

  it("refuses a key that does not fit its algorithm, with invalid_key", async () => {
    const clock = new FakeClock();
    const ed25519 = await activeKey("EdDSA", clock);
    const p256 = await activeKey("ES256", clock);
    const rsa1024 = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "jwk" });
    const misfits: RingKey[] = [
      { ...ed25519, alg: "ES256" },
      { ...p256, alg: "EdDSA" },
      { ...p256, alg: "HS256" },
      { ...p256, signingKey: p256.verificationKey },
      { ...ed25519, alg: "RS256", signingKey: await importJWK(rsa1024, "RS256") },
      { ...ed25519, alg: "HS256", signingKey: new Uint8Array(16) },
    ];
    for (const misfit of misfits) {
      const error = (() => {
        try {
          signAccessToken(misfit, claimsAt(clock));
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ProlongError);
      expect((error as ProlongError).code).toBe("invalid_key");
    }
  });
});
