import { createPublicKey, type JsonWebKey, type KeyObject, verify } from "node:crypto";
import { DBSC_PROOF_TYP } from "@prolong/protocol";

/*
 * A browser's DBSC proof (W3C webappsec-dbsc draft; docs/bound-sessions.md): a compact
 * JWS (RFC 7515 §7.1) with the header {"alg":"ES256","typ":"dbsc+jwt"} and the payload
 * {"jti": <challenge>}, signed with the browser's key. At registration the header also
 * carries that key's public half (`jwk`, RFC 7515 §4.1.3); at refresh it does not, and
 * the proof is checked against the key the session registered.
 */

/** Longer than any proof a browser makes: an ES256 JWS with a P-256 key is about 500 characters. */
const MAX_PROOF_LENGTH = 4096;

/** ES256 (RFC 7518 §3.4): the one algorithm DBSC software keys sign with, and the only one asked for. */
export const DBSC_ALG = "ES256";

/** A proof that failed a check; `message` names the check, never the proof. */
export class DbscProofError extends Error {
  override readonly name = "DbscProofError";
}

/** A proof that checked out: its challenge, and the key that signed it as stored JSON. */
export interface DbscProof {
  jti: string;
  /** The public key (RFC 7517 JWK, `kty`, `crv`, `x`, `y` only), as JSON text. */
  key: string;
}

/**
 * Checks `proof` (the `Secure-Session-Response` header): its shape, `typ`, `alg`, a
 * `jti`, and its signature, against `registered` (a stored key's JSON) when given, else
 * against the public key in its header, which a proof must then carry. Throws
 * {@link DbscProofError}.
 */
export function checkDbscProof(proof: string, registered?: string): DbscProof {
  if (proof.length > MAX_PROOF_LENGTH) throw new DbscProofError("the proof is too long");
  const parts = proof.split(".");
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part)))
    throw new DbscProofError("the proof is not a compact JWS");
  const [head, body, signature] = parts as [string, string, string];
  const header = jsonObject(head, "header");
  const payload = jsonObject(body, "payload");
  if (header.typ !== DBSC_PROOF_TYP) throw new DbscProofError(`typ must be ${DBSC_PROOF_TYP}`);
  if (header.alg !== DBSC_ALG) throw new DbscProofError(`alg must be ${DBSC_ALG}`);
  if (typeof payload.jti !== "string" || payload.jti === "")
    throw new DbscProofError("jti must be the challenge");
  const key = registered ?? (header.jwk === undefined ? undefined : publicJwk(header.jwk));
  if (key === undefined) throw new DbscProofError("jwk: the registration proof must carry its public key");
  const verified = verify(
    "sha256",
    Buffer.from(`${head}.${body}`, "latin1"),
    { key: keyObject(key), dsaEncoding: "ieee-p1363" },
    Buffer.from(signature, "base64url"),
  );
  if (!verified) throw new DbscProofError("the signature does not verify");
  return { jti: payload.jti, key };
}

function jsonObject(part: string, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    throw new DbscProofError(`the proof's ${name} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new DbscProofError(`the proof's ${name} is not a JSON object`);
  return value as Record<string, unknown>;
}

const COORDINATE = /^[A-Za-z0-9_-]{43}$/;

/**
 * The header's key as stored: a P-256 public key (what ES256 signs with), its members in
 * one order so equal keys are equal text. A private member (`d`) is refused: a browser
 * never sends it, and a key sent with it is no secret of any device.
 */
function publicJwk(jwk: unknown): string {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk))
    throw new DbscProofError("jwk must be a JSON object");
  const { kty, crv, x, y, d } = jwk as Record<string, unknown>;
  if (d !== undefined) throw new DbscProofError("jwk must be a public key");
  if (kty !== "EC" || crv !== "P-256") throw new DbscProofError("jwk must be an EC P-256 key");
  if (typeof x !== "string" || typeof y !== "string" || !COORDINATE.test(x) || !COORDINATE.test(y))
    throw new DbscProofError("jwk: x and y must be P-256 coordinates");
  const key = JSON.stringify({ kty, crv, x, y });
  keyObject(key);
  return key;
}

function keyObject(key: string): KeyObject {
  try {
    return createPublicKey({ key: JSON.parse(key) as JsonWebKey, format: "jwk" });
  } catch {
    // A point off the curve: no browser makes one.
    throw new DbscProofError("jwk is not a valid P-256 public key");
  }
}
