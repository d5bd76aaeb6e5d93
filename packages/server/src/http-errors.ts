import { type ErrorCode, isProlongError } from "@prolong/core";
import type { FastifyReply } from "fastify";

/**
 * Failures of a grant: RFC 6749 §5.2 calls them all `invalid_grant`; prolong's finer code
 * rides along. These are definitive: the credential will never work again, so they are
 * the only failures after which a refresh cookie may be cleared.
 */
const GRANT_FAILURES = new Set<ErrorCode>([
  "invalid_grant",
  "reuse_detected",
  "session_revoked",
  "session_expired",
  "reauth_required",
  "user_disabled",
  "invalid_token",
  "token_expired",
]);

const STATUS: Partial<Record<ErrorCode, number>> = {
  invalid_credentials: 401,
  user_disabled: 403,
  invalid_request: 400,
  invalid_client: 400,
  not_found: 404,
  conflict: 409,
  rotation_too_early: 409,
  invalid_key: 400,
  invalid_config: 500,
};

/** Seconds a client is asked to wait when the store cannot serve (its lock waits 5 s by default). */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** True for a definitive failure of the presented grant, as opposed to a failure of ours. */
export function isGrantFailure(error: unknown): boolean {
  return isProlongError(error) && GRANT_FAILURES.has(error.code);
}

/**
 * 503 with `Retry-After` for a store that cannot serve (RFC 9110 §15.6.4, §10.2.3): a failure
 * of ours, so never an answer that tells a client its credential is bad. OAuth endpoints
 * use RFC 6749 §5.2's `temporarily_unavailable`; the others the common shape.
 */
export function sendUnavailable(reply: FastifyReply, oauth: boolean) {
  reply
    .code(503)
    .header("retry-after", String(STORE_RETRY_AFTER_SECONDS))
    .header("cache-control", "no-store");
  const message = "the session store is temporarily unavailable; retry later";
  return oauth
    ? reply.send({ error: "temporarily_unavailable", error_description: message })
    : reply.send({ error: "store_unavailable", message });
}

/** RFC 6749 §5.2 error answer of the OAuth endpoints. */
export function sendOAuthError(
  reply: FastifyReply,
  status: number,
  error: string,
  description: string,
  prolongError?: ErrorCode,
) {
  return reply
    .code(status)
    .header("cache-control", "no-store")
    .send({
      error,
      error_description: description,
      ...(prolongError ? { prolong_error: prolongError } : {}),
    });
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
    if (error.code === "invalid_request") return sendOAuthError(reply, 400, "invalid_request", error.message);
  }
  throw error;
}

/**
 * RFC 6750 §3: a missing credential gets a bare challenge; a bad one says
 * `invalid_token`, with a description that tells expired from invalid.
 */
export function sendBearerChallenge(reply: FastifyReply, error?: unknown) {
  if (error === undefined) {
    return reply.code(401).header("www-authenticate", 'Bearer realm="prolong"').send({
      error: "unauthorized",
      message: "an access token is required",
    });
  }
  const expired = isProlongError(error, "token_expired");
  const description = expired ? "expired" : "invalid";
  return reply
    .code(401)
    .header(
      "www-authenticate",
      `Bearer realm="prolong", error="invalid_token", error_description="${description}"`,
    )
    .send({ error: "invalid_token", message: `the access token is ${description}` });
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
  return reply.code(429).send({ error: "rate_limited", message: description });
}

/** The common JSON error shape of the non-OAuth routes. */
export function sendError(reply: FastifyReply, error: unknown) {
  if (isProlongError(error, "store_unavailable")) return sendUnavailable(reply, false);
  if (isProlongError(error)) {
    const status = STATUS[error.code] ?? 400;
    return reply.code(status).send({ error: error.code, message: error.message });
  }
  throw error;
}
