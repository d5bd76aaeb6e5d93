import { constants, createHash, generateKeyPairSync, type KeyObject, randomUUID, sign } from "node:crypto";
import type { JWK } from "jose";
import { b64 } from "./fixtures.js";

/** A client's DPoP key, made with node:crypto so proofs can be shaped in ways no library would. */
export interface ProofKey {
  alg: "ES256" | "EdDSA" | "RS256" | "PS256";
  privateKey: KeyObject;
  /** The public JWK, as a proof header carries it. */
  jwk: JWK;
}

export function proofKey(alg: ProofKey["alg"] = "ES256"): ProofKey {
  const pair =
    alg === "EdDSA"
      ? generateKeyPairSync("ed25519")
      : alg === "ES256"
        ? generateKeyPairSync("ec", { namedCurve: "P-256" })
        : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { alg, privateKey: pair.privateKey, jwk: pair.publicKey.export({ format: "jwk" }) as JWK };
}

/** Signs raw header and claims text with the key, whatever the header says. */
export function signProof(key: ProofKey, headerText: string, claimsText: string): string {
  const input = `${b64(headerText)}.${b64(claimsText)}`;
  const data = Buffer.from(input);
  let signature: Buffer;
  if (key.alg === "EdDSA") signature = sign(null, data, key.privateKey);
  else if (key.alg === "ES256")
    signature = sign("sha256", data, { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  else if (key.alg === "PS256")
    signature = sign("sha256", data, {
      key: key.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
  else signature = sign("sha256", data, key.privateKey);
  return `${input}.${signature.toString("base64url")}`;
}

export const ath = (token: string) => createHash("sha256").update(token).digest("base64url");

export interface ProofShape {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
}

/** A proof for `method url` at `iat`, with header or claim changes (`undefined` removes one). */
export function makeProof(
  key: ProofKey,
  method: string,
  url: string,
  iat: number,
  shape: ProofShape = {},
): string {
  const header = { typ: "dpop+jwt", alg: key.alg, jwk: key.jwk, ...shape.header };
  const claims = { jti: randomUUID(), htm: method, htu: url, iat, ...shape.claims };
  return signProof(key, JSON.stringify(header), JSON.stringify(claims));
}
