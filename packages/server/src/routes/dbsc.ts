import { DBSC_CHALLENGE_HEADER, DBSC_RESPONSE_HEADER, DBSC_SESSION_ID_HEADER } from "@prolong/protocol";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../context.js";
import { checkDbscProof, type DbscProof, DbscProofError } from "../dbsc/proof.js";
import { DBSC_PATHS } from "../dbsc/session-binding.js";
import { sendErrorCode } from "../http-errors.js";
import { NO_STORE } from "../token-response.js";

/** The longest session id a browser may name: longer than any prolong makes. */
const MAX_SESSION_ID = 200;

/** One value of a request header, `undefined` when it is absent or repeated. */
function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * The two DBSC routes (W3C webappsec-dbsc draft; docs/bound-sessions.md, "Browsers:
 * DBSC"), where a browser registers the key it made for a session and renews the
 * session's bound cookie by signing a challenge with it. Always served: a session that
 * registered a key keeps refreshing its cookie after the profile's `dbsc` is turned off.
 */
export function dbscRoutes(ctx: AppContext) {
  const { engine, binding } = ctx;

  function refuseProof(reply: FastifyReply, why: string) {
    return sendErrorCode(reply.headers(NO_STORE), "invalid_dbsc_proof", why);
  }

  /**
   * The challenge a proof answers, checked: ours, in time, for `sessionId` when given, and
   * never answered before (claimed in the store, so a copy fails on every instance).
   */
  async function consumeChallenge(proof: DbscProof, sessionId?: string) {
    const challenge = binding.challenges.open(proof.jti);
    if (!challenge) return "jti is not a challenge of this server, or it has expired";
    if (sessionId !== undefined && challenge.sessionId !== sessionId)
      return "jti is a challenge for another session";
    if (!(await engine.claimOnce(`dbsc:${challenge.nonce}`, challenge.expiresAt)))
      return "jti is a challenge that was answered already";
    return challenge;
  }

  /** A fresh bound cookie and the session configuration: what registration and refresh answer. */
  function sendBound(reply: FastifyReply, sessionId: string, lifetimeSeconds: number) {
    reply.headers(NO_STORE).header("set-cookie", binding.cookies.issue(sessionId, lifetimeSeconds));
    return reply.send(binding.sessionConfig(sessionId));
  }

  /**
   * The draft's answer that ends the browser's DBSC session, named as the browser knows it
   * (Chromium refuses an answer without the id): its session here is over.
   */
  function sendEnded(reply: FastifyReply, sessionId: string) {
    return reply
      .headers(NO_STORE)
      .header("set-cookie", binding.cookies.cleared())
      .send({ session_identifier: sessionId, continue: false });
  }

  return async (app: FastifyInstance) => {
    // Registration: the browser's key, in a proof signed with it, answering the challenge
    // the sign-in's `Secure-Session-Registration` carried.
    app.post(DBSC_PATHS.register, async (request, reply) => {
      const response = headerOf(request, DBSC_RESPONSE_HEADER);
      if (response === undefined)
        return sendErrorCode(reply, "invalid_request", `the ${DBSC_RESPONSE_HEADER} header is required`);
      let proof: DbscProof;
      try {
        proof = checkDbscProof(response);
      } catch (error) {
        if (error instanceof DbscProofError) return refuseProof(reply, error.message);
        throw error;
      }
      const challenge = await consumeChallenge(proof);
      if (typeof challenge === "string") return refuseProof(reply, challenge);
      const registered = await engine.registerDeviceKey(challenge.sessionId, proof.key);
      if (registered === "taken")
        return sendErrorCode(reply, "conflict", "the session has registered a key already");
      if (registered === "missing") return sendEnded(reply, challenge.sessionId);
      const session = await engine.deviceBinding(challenge.sessionId);
      if (!session) return sendEnded(reply, challenge.sessionId);
      return sendBound(reply, session.sessionId, session.profile.dbsc.cookieLifetimeSeconds);
    });

    // Refresh: first a challenge (403, the draft's way of asking for a proof), then the
    // proof, signed with the registered key, for a fresh bound cookie.
    app.post(DBSC_PATHS.refresh, async (request, reply) => {
      const sessionId = headerOf(request, DBSC_SESSION_ID_HEADER);
      if (sessionId === undefined || sessionId.length > MAX_SESSION_ID || !/^[\x21-\x7e]+$/.test(sessionId))
        return sendErrorCode(reply, "invalid_request", `the ${DBSC_SESSION_ID_HEADER} header is required`);
      const session = await engine.deviceBinding(sessionId);
      if (!session || session.deviceKey === null) return sendEnded(reply, sessionId);
      const response = headerOf(request, DBSC_RESPONSE_HEADER);
      if (response === undefined) {
        const challenge = binding.challenges.issue(sessionId);
        return reply
          .code(403)
          .headers(NO_STORE)
          .header(DBSC_CHALLENGE_HEADER, `"${challenge}";id="${sessionId.replace(/["\\]/g, "\\$&")}"`)
          .send();
      }
      let proof: DbscProof;
      try {
        // Against the key the session registered only: a proof by any other key is refused.
        proof = checkDbscProof(response, session.deviceKey);
      } catch (error) {
        if (error instanceof DbscProofError) return refuseProof(reply, error.message);
        throw error;
      }
      const challenge = await consumeChallenge(proof, sessionId);
      if (typeof challenge === "string") return refuseProof(reply, challenge);
      return sendBound(reply, sessionId, session.profile.dbsc.cookieLifetimeSeconds);
    });
  };
}
