import type { AccessTokenClaims } from "@prolong/protocol";
import { invalid, VerifyError } from "./errors.js";

/**
 * Clock skew tolerated by default on `exp`, `nbf` and `iat`, in seconds. The prolong
 * server verifies its own tokens with the same default, so both refuse the same tokens.
 */
export const DEFAULT_CLOCK_TOLERANCE = 5;

export interface ClaimRules {
  issuer: string;
  audience: string;
  /** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. */
  tolerance: number;
  /** Longest `exp - iat` accepted, in seconds. */
  maxLifetime: number;
}

const isTime = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value) && value >= 0;
const isText = (value: unknown): value is string => typeof value === "string" && value.length > 0;

const isActor = (value: unknown): boolean =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  isText((value as { sub?: unknown }).sub);

/**
 * Checks the claims set: every required claim of `AccessTokenClaims` is there (docs/protocol.md,
 * access tokens), so the type the verifier hands out holds for every token it accepts.
 * Unlike jose's defaults, `exp` and `iat` are bounded too: a token without expiry, or
 * one "valid" for years, is not one prolong issued.
 * Throws `expired` only for a token that is otherwise fine, so clients can tell the two apart.
 */
export function checkClaims(
  claims: Record<string, unknown>,
  rules: ClaimRules,
  nowSeconds: number,
): AccessTokenClaims {
  if (claims.iss !== rules.issuer) throw invalid("wrong issuer");
  const aud = claims.aud;
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(rules.audience)) throw invalid("wrong audience");
  for (const name of ["sub", "jti", "client_id", "sid"])
    if (!isText(claims[name])) throw invalid(`${name} is missing`);
  const { exp, iat, nbf } = claims;
  if (!isTime(exp) || !isTime(iat)) throw invalid("exp and iat are required numbers");
  if (exp <= iat || exp - iat > rules.maxLifetime) throw invalid("lifetime is out of bounds");
  if (iat > nowSeconds + rules.tolerance) throw invalid("issued in the future");
  if (nbf !== undefined && (!isTime(nbf) || nbf > nowSeconds + rules.tolerance))
    throw invalid("not valid yet");
  if (!Number.isSafeInteger(claims.ver)) throw invalid("ver is not an integer");
  for (const name of ["auth_time", "rfa"]) if (!isTime(claims[name])) throw invalid(`${name} is not a time`);
  // Optional, but of their type when present, so a route's `acr` requirement and a reader
  // of `amr` or `act` never meet another shape (RFC 9068 §2.2.1, RFC 8176 §1, RFC 8693 §4.1).
  if (claims.acr !== undefined && !isText(claims.acr)) throw invalid("acr is not a string");
  if (claims.amr !== undefined && !(Array.isArray(claims.amr) && claims.amr.every(isText)))
    throw invalid("amr is not a list of strings");
  if (claims.act !== undefined && !isActor(claims.act)) throw invalid("act has no subject");
  if (exp <= nowSeconds - rules.tolerance) throw new VerifyError("expired", "token has expired");
  return claims as AccessTokenClaims;
}
