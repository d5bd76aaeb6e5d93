import { type ErrorCode, isProlongError } from "@prolong/core";
import type { FastifyReply } from "fastify";

/** Failures of a grant: RFC 6749 §5.2 calls them all `invalid_grant`; prolong's finer code rides along. */
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

/** The common JSON error shape of the non-OAuth routes. */
export function sendError(reply: FastifyReply, error: unknown) {
  if (isProlongError(error)) {
    const status = STATUS[error.code] ?? 400;
    return reply.code(status).send({ error: error.code, message: error.message });
  }
  throw error;
}
