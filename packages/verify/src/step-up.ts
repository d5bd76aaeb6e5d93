import type { AccessTokenClaims } from "@prolong/protocol";

/**
 * What a route demands of the user's authentication, beyond a valid token (RFC 9470 §3).
 * A token that falls short is answered `insufficient_user_authentication` with these
 * values, so the client can have the user authenticate again to meet them.
 */
export interface AuthenticationRequirements {
  /**
   * Seconds: the user must have authenticated (`auth_time`, RFC 9068 §2.2.1) at most this
   * long ago. Answered as `max_age`.
   */
  maxAge?: number;
  /**
   * Authentication context classes the route accepts, in order of preference: the
   * token's `acr` must be one of them. Answered as `acr_values`.
   */
  acr?: readonly string[];
}

/** Which requirements a token falls short of. */
export type UnmetRequirement = "maxAge" | "acr";

/**
 * An `acr` value as it can travel in `acr_values`, a space-separated quoted string
 * (RFC 9470 §3, RFC 9110 §11.2): visible ASCII without space, quote or backslash.
 */
const ACR_VALUE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Checks requirements once, where a guard is made, so a mistake fails at start-up and
 * not at a user's request; throws a TypeError naming the option.
 */
export function checkRequirements(requirements: AuthenticationRequirements): void {
  const { maxAge, acr } = requirements;
  if (maxAge !== undefined && !(Number.isSafeInteger(maxAge) && maxAge >= 0))
    throw new TypeError("maxAge must be a whole number of seconds, zero or more");
  if (acr !== undefined) {
    if (!Array.isArray(acr) || acr.length === 0)
      throw new TypeError("acr must be a non-empty list of authentication context classes");
    for (const value of acr)
      if (typeof value !== "string" || !ACR_VALUE.test(value))
        throw new TypeError("acr values must be non-empty, without spaces, quotes or backslashes");
  }
}

/**
 * The requirements `claims` fall short of at `nowSeconds`, none when they meet them all.
 * `auth_time` exactly `maxAge` seconds ago still passes (OpenID Connect Core §3.1.2.1:
 * re-authentication when the elapsed time is greater). A token without `acr` meets no
 * `acr` requirement.
 */
export function unmetRequirements(
  claims: AccessTokenClaims,
  requirements: AuthenticationRequirements,
  nowSeconds: number,
): UnmetRequirement[] {
  const unmet: UnmetRequirement[] = [];
  if (requirements.maxAge !== undefined && nowSeconds - claims.auth_time > requirements.maxAge)
    unmet.push("maxAge");
  if (requirements.acr !== undefined && (claims.acr === undefined || !requirements.acr.includes(claims.acr)))
    unmet.push("acr");
  return unmet;
}
