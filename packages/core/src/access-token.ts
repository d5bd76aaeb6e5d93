import type { KeyObject } from "node:crypto";
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from "jose";
import { ProlongError } from "./errors.js";
import type { KeyRing, RingKey } from "./keys.js";
import { prepareSigningKey, signCompactJws } from "./lib/jws.js";

/** RFC 9068 §2.2 claims plus prolong's own; the claims hook may not set any of these. */
export const reservedClaims: ReadonlySet<string> = new Set([
  "iss",
  "sub",
  "aud",
  "exp",
  "iat",
  "nbf",
  "jti",
  "client_id",
  "sid",
  "ver",
  "auth_time",
  "rfa",
]);

export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  sid: string;
  ver: number;
  auth_time: number;
  rfa: number;
  [custom: string]: unknown;
}

/** Tokens beyond this size are refused before any parsing, so input size cannot be used to burn CPU. */
export const MAX_ACCESS_TOKEN_BYTES = 8192;

/** Each ring key converted to a node:crypto key once; a reloaded ring brings new objects. */
const signingKeys = new WeakMap<RingKey, KeyObject>();

/**
 * Signs an RFC 9068 access token: `typ: at+jwt` (§2.1) and the ring key's `kid`.
 * Synchronous: node:crypto signs on the calling thread.
 */
export function signAccessToken(key: RingKey, claims: AccessTokenClaims): string {
  let signingKey = signingKeys.get(key);
  if (!signingKey) {
    signingKey = prepareSigningKey(key.alg, key.signingKey);
    signingKeys.set(key, signingKey);
  }
  return signCompactJws({ alg: key.alg, typ: "at+jwt", kid: key.kid }, claims, signingKey);
}

export interface AccessTokenCheck {
  issuer: string;
  audience: string;
  now: number;
  /** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. */
  tolerance: number;
  /** Longest lifetime (`exp - iat`) a genuine token can have, in seconds. */
  maxLifetime: number;
}

/**
 * Verifies an access token this server issued (for introspection and the stateless
 * exchange). Stricter than jose's defaults: size cap, `typ`, known `kid` only, the
 * key's own algorithm only, every RFC 9068 claim required, bounded lifetime.
 * Throws `token_expired` or `invalid_token`.
 */
export async function verifyAccessToken(
  ring: KeyRing,
  token: string,
  check: AccessTokenCheck,
): Promise<AccessTokenClaims> {
  const invalid = (why: string, cause?: unknown) => new ProlongError("invalid_token", why, { cause });
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_ACCESS_TOKEN_BYTES) {
    throw invalid("token is empty or too large");
  }
  let key: RingKey | undefined;
  try {
    const header = decodeProtectedHeader(token);
    key = typeof header.kid === "string" ? ring.find(header.kid) : undefined;
  } catch (cause) {
    throw invalid("token is malformed", cause);
  }
  if (!key) throw invalid("token was not signed by a known key");
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key.verificationKey, {
      algorithms: [key.alg],
      typ: "at+jwt",
      issuer: check.issuer,
      audience: check.audience,
      currentDate: new Date(check.now),
      clockTolerance: check.tolerance,
      requiredClaims: ["exp", "iat", "sub", "jti", "client_id", "sid", "ver", "auth_time"],
    }));
  } catch (cause) {
    if (cause instanceof joseErrors.JWTExpired)
      throw new ProlongError("token_expired", "token has expired", { cause });
    throw invalid("token failed verification", cause);
  }
  const claims = payload as AccessTokenClaims;
  // jose accepts any exp; a lifetime longer than we ever issue means a forged or foreign token.
  if (
    typeof claims.iat !== "number" ||
    typeof claims.exp !== "number" ||
    claims.exp - claims.iat > check.maxLifetime
  ) {
    throw invalid("token lifetime is out of bounds");
  }
  if (claims.iat > check.now / 1000 + check.tolerance) throw invalid("token was issued in the future");
  if (typeof claims.sid !== "string" || typeof claims.sub !== "string" || !Number.isInteger(claims.ver)) {
    throw invalid("token claims have the wrong types");
  }
  return claims;
}
