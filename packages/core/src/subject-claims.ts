import { MAX_ACCESS_TOKEN_BYTES } from "@prolong/protocol";
import { ProlongError } from "./errors.js";

/**
 * The largest claims a subject may carry, in bytes of their JSON: every access token of
 * the subject carries them (P9), and a token over MAX_ACCESS_TOKEN_BYTES is refused by
 * every verifier, this server's own included, so claims that push a token past it would
 * leave the subject with sessions that refresh but never authorize anything. 4 KiB, with
 * the registered claims and the header, keeps a token near 6 KiB once base64url-encoded.
 */
export const MAX_SUBJECT_CLAIMS_BYTES = 4096;

/** `claims` as a subject's claims; throws `invalid_request` naming `claims` when they are too large. */
export function checkSubjectClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const bytes = Buffer.byteLength(JSON.stringify(claims) ?? "", "utf8");
  if (bytes > MAX_SUBJECT_CLAIMS_BYTES)
    throw new ProlongError("invalid_request", `claims: at most ${MAX_SUBJECT_CLAIMS_BYTES} bytes as JSON`);
  return claims;
}

/**
 * Throws `invalid_config` for a signed access token verifiers would refuse for its size:
 * claims a claims hook added (`EngineOptions.claims`) can grow past what stored claims
 * may, and failing here (a 500, which signs nobody out) says why, where handing out the
 * token would fail every request that used it.
 */
export function checkAccessTokenSize(token: string): string {
  if (token.length > MAX_ACCESS_TOKEN_BYTES) {
    throw new ProlongError(
      "invalid_config",
      `claims: the access token would be ${token.length} bytes, more than the ${MAX_ACCESS_TOKEN_BYTES} verifiers accept`,
    );
  }
  return token;
}
