import { createHmac, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import type { JWK } from "jose";

export const ISSUER = "https://auth.example.test";
export const AUDIENCE = "prolong";
export const NOW = 1_800_000_000;

export interface TestKey {
  alg: "EdDSA" | "ES256" | "RS256" | "HS256";
  kid: string;
  privateKey: KeyObject | Buffer;
  jwk: JWK;
}

function asymmetric(alg: "EdDSA" | "ES256" | "RS256", kid: string): TestKey {
  const pair =
    alg === "EdDSA"
      ? generateKeyPairSync("ed25519")
      : alg === "ES256"
        ? generateKeyPairSync("ec", { namedCurve: "P-256" })
        : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...(pair.publicKey.export({ format: "jwk" }) as JWK), kid, alg, use: "sig" };
  return { alg, kid, privateKey: pair.privateKey, jwk };
}

export function makeKeys() {
  const secret = Buffer.alloc(32, 7);
  return {
    EdDSA: asymmetric("EdDSA", "ed-1"),
    ES256: asymmetric("ES256", "ec-1"),
    RS256: asymmetric("RS256", "rsa-1"),
    HS256: {
      alg: "HS256",
      kid: "hs-1",
      privateKey: secret,
      jwk: { kty: "oct", k: secret.toString("base64url"), kid: "hs-1", alg: "HS256" },
    } as TestKey,
  };
}

export const b64 = (text: string) => Buffer.from(text).toString("base64url");

/** Signs raw header and payload text, so tests can build tokens no JOSE library would. */
export function signRaw(key: TestKey, headerText: string, payloadText: string, alg = key.alg): string {
  const input = `${b64(headerText)}.${b64(payloadText)}`;
  const data = Buffer.from(input);
  let signature: Buffer;
  if (alg === "HS256")
    signature = createHmac("sha256", key.privateKey as Buffer)
      .update(data)
      .digest();
  else if (alg === "EdDSA") signature = sign(null, data, key.privateKey as KeyObject);
  else if (alg === "ES256")
    signature = sign("sha256", data, { key: key.privateKey as KeyObject, dsaEncoding: "ieee-p1363" });
  else signature = sign("sha256", data, key.privateKey as KeyObject);
  return `${input}.${signature.toString("base64url")}`;
}

export function claims(overrides: Record<string, unknown> = {}) {
  return {
    iss: ISSUER,
    sub: "user-1",
    aud: AUDIENCE,
    exp: NOW + 300,
    iat: NOW,
    jti: "jti-1",
    client_id: "web",
    sid: "session-1",
    ver: 0,
    auth_time: NOW,
    rfa: NOW + 240,
    ...overrides,
  };
}

/** A token as prolong issues it, with optional header and claim changes. */
export function token(
  key: TestKey,
  claimOverrides: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
) {
  return signRaw(
    key,
    JSON.stringify({ alg: key.alg, typ: "at+jwt", kid: key.kid, ...header }),
    JSON.stringify(claims(claimOverrides)),
  );
}

export { createPrivateKey };
