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

/**
 * Checks the claims set: every claim of `AccessTokenClaims` is required (docs/protocol.md,
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
  if (exp <= nowSeconds - rules.tolerance) throw new VerifyError("expired", "token has expired");
  return claims as AccessTokenClaims;
}
