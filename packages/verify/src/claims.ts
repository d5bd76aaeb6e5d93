import { invalid, VerifyError } from "./errors.js";

/** The claims of a prolong access token (RFC 9068 §2.2 and docs/protocol.md). */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nbf?: number;
  jti: string;
  client_id?: string;
  sid: string;
  ver?: number;
  auth_time?: number;
  rfa?: number;
  [claim: string]: unknown;
}

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
 * Checks the claims set. Unlike jose's defaults, `exp` and `iat` are required and bounded:
 * a token without expiry, or one "valid" for years, is not one prolong issued.
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
  for (const name of ["sub", "jti", "sid"]) if (!isText(claims[name])) throw invalid(`${name} is missing`);
  const { exp, iat, nbf } = claims;
  if (!isTime(exp) || !isTime(iat)) throw invalid("exp and iat are required numbers");
  if (exp <= iat || exp - iat > rules.maxLifetime) throw invalid("lifetime is out of bounds");
  if (iat > nowSeconds + rules.tolerance) throw invalid("issued in the future");
  if (nbf !== undefined && (!isTime(nbf) || nbf > nowSeconds + rules.tolerance))
    throw invalid("not valid yet");
  if (claims.ver !== undefined && !Number.isSafeInteger(claims.ver)) throw invalid("ver is not an integer");
  if (claims.rfa !== undefined && !isTime(claims.rfa)) throw invalid("rfa is not a number");
  if (exp <= nowSeconds - rules.tolerance) throw new VerifyError("expired", "token has expired");
  return claims as AccessTokenClaims;
}
