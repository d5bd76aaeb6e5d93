import { isProlongError } from "@prolong/core";
import {
  ERROR_STATUS,
  type ErrorBody,
  type ErrorCode,
  GRANT_FAILURES,
  type OAuthErrorCode,
} from "@prolong/protocol";
import type { FastifyReply } from "fastify";

/** Seconds a client is asked to wait when the store cannot serve (its lock waits 5 s by default). */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** True for a definitive failure of the presented grant, as opposed to a failure of ours. */
export function isGrantFailure(error: unknown): boolean {
  return isProlongError(error) && GRANT_FAILURES.has(error.code);
}

/**
 * The JSON error answer of prolong's own (non-OAuth) endpoints: `{error, error_description}`,
 * the shape of the OAuth endpoints too (docs/protocol.md, "Errors"), with the code's status
 * unless the route has a reason for another.
 */
export function sendErrorCode(
  reply: FastifyReply,
  code: ErrorCode,
  description: string,
  status: number = ERROR_STATUS[code],
) {
  const body: ErrorBody = { error: code, error_description: description };
  return reply.code(status).send(body);
}

/**
 * 503 with `Retry-After` for a store that cannot serve (RFC 9110 §15.6.4, §10.2.3): a failure
 * of ours, so never an answer that tells a client its credential is bad. OAuth endpoints
 * use RFC 6749 §5.2's `temporarily_unavailable`; the others `store_unavailable`.
 */
export function sendUnavailable(reply: FastifyReply, oauth: boolean) {
  reply
    .code(503)
    .header("retry-after", String(STORE_RETRY_AFTER_SECONDS))
    .header("cache-control", "no-store");
  const description = "the session store is temporarily unavailable; retry later";
  return oauth
    ? sendOAuthError(reply, 503, "temporarily_unavailable", description)
    : sendErrorCode(reply, "store_unavailable", description);
}

/** RFC 6749 §5.2 error answer of the OAuth endpoints. */
export function sendOAuthError(
  reply: FastifyReply,
  status: number,
  error: OAuthErrorCode,
  description: string,
  prolongError?: ErrorCode,
) {
  const body: ErrorBody = {
    error,
    error_description: description,
    ...(prolongError ? { prolong_error: prolongError } : {}),
  };
  return reply.code(status).header("cache-control", "no-store").send(body);
}

/** Maps an engine failure on the token endpoint to its RFC 6749 §5.2 shape. */
export function sendGrantError(reply: FastifyReply, error: unknown) {
  if (isProlongError(error)) {
    if (GRANT_FAILURES.has(error.code))
      return sendOAuthError(reply, 400, "invalid_grant", error.message, error.code);
    if (error.code === "invalid_client")
      return sendOAuthError(reply, 401, "invalid_client", error.message, error.code);
    if (error.code === "unauthorized_client")
      return sendOAuthError(reply, 400, "unauthorized_client", error.message);
    if (error.code === "store_unavailable") return sendUnavailable(reply, true);
    // DBSC: the refresh came without the session's bound cookie. An extension code
    // (RFC 6749 §5.2 allows them), not `invalid_grant`: clients retry instead of signing
    // out, and the refresh cookie stays (docs/bound-sessions.md, "Browsers: DBSC").
    if (error.code === "device_unbound")
      return sendOAuthError(reply, 403, "device_unbound", error.message, error.code);
    if (error.code === "invalid_request") return sendOAuthError(reply, 400, "invalid_request", error.message);
    // RFC 9449 §5, §8: a proof's fault is 400 with its own code (the nonce, when asked for,
    // is already on the reply: DpopProofs.offerNonce).
    if (error.code === "invalid_dpop_proof" || error.code === "use_dpop_nonce")
      return sendOAuthError(reply, 400, error.code, error.message);
  }
  throw error;
}

/**
 * RFC 6750 §3: a missing credential gets a bare challenge; a bad one says
 * `invalid_token`, with a description that tells expired from invalid.
 */
export function sendBearerChallenge(reply: FastifyReply, error?: unknown) {
  if (error === undefined) {
    reply.header("www-authenticate", 'Bearer realm="prolong"');
    return sendErrorCode(reply, "unauthorized", "an access token is required");
  }
  const expired = isProlongError(error, "token_expired");
  const description = expired ? "expired" : "invalid";
  reply.header(
    "www-authenticate",
    `Bearer realm="prolong", error="invalid_token", error_description="${description}"`,
  );
  return sendErrorCode(reply, "invalid_token", `the access token is ${description}`);
}

/**
 * 429 for a caller over a limit, with `Retry-After` (RFC 9110 §10.2.3). The code is
 * `rate_limited` everywhere: RFC 6749 §5.2 allows extension codes at the token endpoint,
 * and `slow_down` belongs to the device flow (RFC 8628 §3.5). Clients treat it as
 * transient, never as the end of a session.
 */
export function sendRateLimited(reply: FastifyReply, retryAfter: number, options: { oauth: boolean }) {
  reply.header("retry-after", String(retryAfter));
  const description = "too many attempts; retry after the time in Retry-After";
  if (options.oauth) return sendOAuthError(reply, 429, "rate_limited", description);
  return sendErrorCode(reply, "rate_limited", description);
}

/** An engine failure on the non-OAuth routes, answered with its code's status; anything else is rethrown. */
export function sendError(reply: FastifyReply, error: unknown) {
  if (isProlongError(error, "store_unavailable")) return sendUnavailable(reply, false);
  if (isProlongError(error)) return sendErrorCode(reply, error.code, error.message);
  throw error;
}
