import { type DpopAlg, MIN_HMAC_KEY_BYTES, SIGNING_ALGS, type SigningAlg } from "@prolong/protocol";
import { importJWK, type JWK } from "jose";
import { backend } from "#crypto";
import { invalid } from "./errors.js";

/** The algorithms prolong issues. Nothing else is ever accepted, `none` least of all. */
export type Algorithm = SigningAlg;
export const ALGORITHMS: readonly Algorithm[] = SIGNING_ALGS;
/** Every algorithm a signature is checked with: the issuer's, and those of DPoP proofs. */
export type JwsAlg = SigningAlg | DpopAlg;

/** A key imported once and reused for every verification. */
export interface VerificationKey {
  kid: string;
  alg: Algorithm;
  /**
   * The runtime's key object: a `node:crypto` `KeyObject` on Node, a Web Crypto
   * `CryptoKey` elsewhere (crypto/backend.ts). Make one with {@link importVerificationKey}.
   */
  key: object;
}

/** The one algorithm a JWK can verify, from its type and curve (RFC 7518 §3). */
function algorithmOf(jwk: JWK): Algorithm | null {
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  if (jwk.kty === "RSA") return "RS256";
  if (jwk.kty === "oct") return "HS256";
  return null;
}

/**
 * Imports one JWK for verification, or throws. The key decides its algorithm, so a
 * token cannot pick HMAC with a public key as the secret (the alg-confusion attack).
 */
export async function importVerificationKey(
  jwk: JWK,
  allowed: readonly Algorithm[],
): Promise<VerificationKey> {
  const alg = algorithmOf(jwk);
  if (!alg) throw new TypeError(`unsupported key type ${jwk.kty}${jwk.crv ? ` ${jwk.crv}` : ""}`);
  if (jwk.alg !== undefined && jwk.alg !== alg)
    throw new TypeError(`key alg ${jwk.alg} does not fit a ${jwk.kty} key`);
  if (!allowed.includes(alg)) throw new TypeError(`algorithm ${alg} is not allowed`);
  if (jwk.use !== undefined && jwk.use !== "sig") throw new TypeError(`key use "${jwk.use}" is not "sig"`);
  if (jwk.key_ops !== undefined && !jwk.key_ops.includes("verify"))
    throw new TypeError("key_ops lacks verify");
  if (typeof jwk.kid !== "string" || jwk.kid.length === 0) throw new TypeError("key has no kid");
  // Only the public members are imported, so a JWKS that leaks a private key (or a
  // caller passing one) never yields a signing-capable object here.
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, ...publicPart } = jwk;
  const imported = await importJWK({ ...publicPart, ext: true }, alg);
  if (imported instanceof Uint8Array && imported.length < MIN_HMAC_KEY_BYTES) {
    throw new TypeError(`HS256 secrets must be at least ${MIN_HMAC_KEY_BYTES * 8} bits`);
  }
  const key = await backend.importKey(alg, imported);
  return { kid: jwk.kid, alg, key };
}

/** Imports the usable keys of a JWK Set; keys prolong cannot use are skipped, not fatal. */
export async function importJwks(
  jwks: unknown,
  allowed: readonly Algorithm[],
): Promise<Map<string, VerificationKey>> {
  if (typeof jwks !== "object" || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) {
    throw invalid("JWKS document has no keys array");
  }
  const out = new Map<string, VerificationKey>();
  for (const jwk of (jwks as { keys: JWK[] }).keys) {
    try {
      const key = await importVerificationKey(jwk, allowed);
      out.set(key.kid, key);
    } catch {
      // A key of another kind (encryption, an algorithm we refuse) is not an error of the set.
    }
  }
  return out;
}

/** The members of a JWK that only a private (or secret) key has (RFC 7518 §6.2.2, §6.3.2, §6.4). */
export const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

/** Whether a public JWK's type and curve fit a DPoP algorithm (RFC 7518 §3, RFC 8037 §3.1). */
function fitsProofAlg(jwk: JWK, alg: DpopAlg): boolean {
  switch (alg) {
    case "ES256":
      return jwk.kty === "EC" && jwk.crv === "P-256";
    case "EdDSA":
      return jwk.kty === "OKP" && jwk.crv === "Ed25519";
    case "RS256":
    case "PS256":
      return jwk.kty === "RSA";
  }
}

/** RFC 7638 §3.2: the members a thumbprint covers, in lexicographic order: the public key, whole. */
const PUBLIC_MEMBERS = {
  EC: ["crv", "kty", "x", "y"],
  OKP: ["crv", "kty", "x"],
  RSA: ["e", "kty", "n"],
} as const;

/**
 * Checks the public key a DPoP proof carries (RFC 9449 §4.3 point 7) for the one
 * algorithm its header names, and returns the RFC 7638 thumbprint input: the JSON of its
 * public members in lexicographic order, which is also all that is imported of it.
 * Throws a `TypeError` naming the fault: a private member, a key of another type,
 * `alg` or `use` that contradict the header, a missing member.
 */
export function proofKeyMembers(jwk: JWK, alg: DpopAlg): string {
  for (const name of PRIVATE_JWK_MEMBERS)
    if (name in jwk) throw new TypeError(`jwk has private member ${name}`);
  // The messages name no value of the key: it is the sender's text, and messages are logged.
  if (!fitsProofAlg(jwk, alg)) throw new TypeError(`jwk does not fit ${alg}`);
  // RFC 9864 §2.2: `Ed25519` is the fully specified name of EdDSA over Ed25519.
  const named = jwk.alg === "Ed25519" ? "EdDSA" : jwk.alg;
  if (named !== undefined && named !== alg) throw new TypeError(`jwk alg is not ${alg}`);
  if (jwk.use !== undefined && jwk.use !== "sig") throw new TypeError('jwk use is not "sig"');
  const members: Record<string, string> = {};
  for (const name of PUBLIC_MEMBERS[jwk.kty as keyof typeof PUBLIC_MEMBERS]) {
    const value = jwk[name];
    if (typeof value !== "string") throw new TypeError(`jwk ${name} is missing`);
    members[name] = value;
  }
  return JSON.stringify(members);
}

/**
 * Imports a proof's public key from its members as {@link proofKeyMembers} gave them.
 * Throws for a key the runtime refuses (a point off the curve, RSA under 2048 bits).
 */
export async function importProofKey(members: string, alg: DpopAlg): Promise<{ alg: DpopAlg; key: object }> {
  const imported = await importJWK({ ...(JSON.parse(members) as JWK), ext: true }, alg);
  return { alg, key: await backend.importKey(alg, imported) };
}
