import { createHash, createHmac, randomUUID } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { ISSUER } from "./fixtures.js";

/** A client's DPoP key: what it signs proofs with, its public JWK and its RFC 7638 thumbprint. */
export interface DpopKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
  jkt: string;
  alg: string;
}

export async function dpopKey(alg = "ES256"): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, publicKey, jwk, jkt: await calculateJwkThumbprint(jwk), alg };
}

export interface ProofOptions {
  /** Milliseconds since the epoch: the test's clock. */
  now: number;
  htm?: string;
  /** Default the token endpoint of the test issuer. */
  htu?: string;
  /** Seconds added to `now` for `iat`. */
  iatOffset?: number;
  jti?: string;
  nonce?: string;
  /** The access token whose hash goes in `ath` (RFC 9449 §4.2). */
  accessToken?: string;
}

/** An RFC 9449 §4.2 proof, made as a client makes one (jose). */
export function proof(key: DpopKey, options: ProofOptions): Promise<string> {
  const payload: Record<string, unknown> = {
    htm: options.htm ?? "POST",
    htu: options.htu ?? `${ISSUER}/oauth/token`,
    jti: options.jti ?? randomUUID(),
  };
  if (options.nonce !== undefined) payload.nonce = options.nonce;
  if (options.accessToken !== undefined)
    payload.ath = createHash("sha256").update(options.accessToken).digest("base64url");
  return new SignJWT(payload)
    .setProtectedHeader({ typ: "dpop+jwt", alg: key.alg, jwk: key.jwk })
    .setIssuedAt(Math.floor(options.now / 1000) + (options.iatOffset ?? 0))
    .sign(key.privateKey);
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A proof with `alg: none` and no signature, which no server may accept (RFC 9449 §4.3 point 5). */
export function unsignedProof(key: DpopKey, now: number): string {
  const header = b64({ typ: "dpop+jwt", alg: "none", jwk: key.jwk });
  const payload = b64({
    htm: "POST",
    htu: `${ISSUER}/oauth/token`,
    jti: randomUUID(),
    iat: Math.floor(now / 1000),
  });
  return `${header}.${payload}.`;
}

/** A proof MACed with HS256 under a key that travels in its own header: symmetric, so refused. */
export function hmacProof(now: number): string {
  const secret = "a shared secret anyone can read";
  const jwk = { kty: "oct", k: Buffer.from(secret).toString("base64url") };
  const header = b64({ typ: "dpop+jwt", alg: "HS256", jwk });
  const payload = b64({
    htm: "POST",
    htu: `${ISSUER}/oauth/token`,
    jti: randomUUID(),
    iat: Math.floor(now / 1000),
  });
  const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}
