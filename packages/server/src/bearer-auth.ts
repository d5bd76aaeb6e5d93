import { type Caller, isProlongError } from "@prolong/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "./context.js";
import { bearerToken } from "./credentials.js";
import { sendBearerChallenge, sendErrorCode } from "./http-errors.js";

/**
 * Authenticates the access token of a bearer-protected route (RFC 6750), answering
 * the challenge itself and returning `null` when the caller is not let in.
 */
export async function authenticateCaller(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Caller | null> {
  const bearer = bearerToken(request);
  if ("missing" in bearer) {
    sendBearerChallenge(reply);
    return null;
  }
  if ("malformed" in bearer) {
    // §3.1 invalid_request: a token in the query string or a malformed header.
    reply.header("www-authenticate", 'Bearer realm="prolong", error="invalid_request"');
    sendErrorCode(reply, "invalid_request", "send the access token in the Authorization header only");
    return null;
  }
  try {
    return await ctx.engine.authenticate(bearer.token);
  } catch (error) {
    // A store outage is not a bad token: a 401 would make the client drop its session.
    if (!isProlongError(error) || error.code === "store_unavailable") throw error;
    sendBearerChallenge(reply, error);
    return null;
  }
}
