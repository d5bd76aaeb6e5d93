import { type Caller, isProlongError } from "@prolong/core";
import { DPOP_ALGS, DPOP_SCHEME } from "@prolong/protocol";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "./context.js";
import { bearerToken } from "./credentials.js";
import { isProofFailure } from "./dpop.js";
import { sendBearerChallenge, sendErrorCode } from "./http-errors.js";

/** `Authorization: DPoP <token>` (RFC 9449 §7.1): one credential, as RFC 6750 §2.1 has it for Bearer. */
const DPOP_AUTHORIZATION = new RegExp(`^${DPOP_SCHEME} +(\\S+)$`, "i");

/**
 * Authenticates the access token of a bearer-protected route (RFC 6750), answering
 * the challenge itself and returning `null` when the caller is not let in. A token bound
 * to a DPoP key (`cnf.jkt`) is taken only as `Authorization: DPoP` with a proof of that
 * key for this request (RFC 9449 §7): sent as Bearer it is what a thief would send.
 */
export async function authenticateCaller(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Caller | null> {
  const header = request.headers.authorization;
  if (header !== undefined && /^DPoP\b/i.test(header)) return dpopCaller(ctx, request, reply, header);
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
    const caller = await ctx.engine.authenticate(bearer.token);
    if (caller.claims.cnf !== undefined) {
      sendDpopChallenge(reply, "invalid_token", "the access token is bound to a DPoP key: send it as DPoP");
      return null;
    }
    return caller;
  } catch (error) {
    // A store outage is not a bad token: a 401 would make the client drop its session.
    if (!isProlongError(error) || error.code === "store_unavailable") throw error;
    sendBearerChallenge(reply, error);
    return null;
  }
}

/** RFC 9449 §7: a bound token and a proof of its key for this very request (method, URL, `ath`). */
async function dpopCaller(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  header: string,
): Promise<Caller | null> {
  const token = DPOP_AUTHORIZATION.exec(header)?.[1];
  if (token === undefined) {
    sendDpopChallenge(reply, "invalid_request", "send one access token after DPoP");
    return null;
  }
  await ctx.dpop.offerNonce(reply);
  try {
    // The route's path as the issuer names it: the request's path below where prolong is mounted.
    const path = request.url.split("?")[0]?.slice(request.server.prefix.length) ?? "";
    const proof = await ctx.dpop.read(request, path, "required", { accessToken: token });
    const caller = await ctx.engine.authenticate(token);
    if (caller.claims.cnf?.jkt !== proof?.jkt) {
      sendDpopChallenge(reply, "invalid_token", "the access token is not bound to the proof's key");
      return null;
    }
    return caller;
  } catch (error) {
    if (isProofFailure(error)) {
      sendDpopChallenge(reply, error.code, error.message);
      return null;
    }
    if (!isProlongError(error) || error.code === "store_unavailable") throw error;
    sendDpopChallenge(reply, "invalid_token", "the access token is invalid or expired");
    return null;
  }
}

/**
 * RFC 9449 §7.1: 401 with a `DPoP` challenge naming the accepted algorithms and the
 * error; a missing nonce answers `use_dpop_nonce` (the nonce itself is already on the
 * reply, DpopProofs.offerNonce).
 */
function sendDpopChallenge(
  reply: FastifyReply,
  code: "invalid_token" | "invalid_request" | "invalid_dpop_proof" | "use_dpop_nonce",
  description: string,
) {
  reply.header(
    "www-authenticate",
    `${DPOP_SCHEME} algs="${DPOP_ALGS.join(" ")}", error="${code}", error_description="${description}"`,
  );
  return sendErrorCode(reply, code, description, code === "invalid_request" ? 400 : 401);
}
