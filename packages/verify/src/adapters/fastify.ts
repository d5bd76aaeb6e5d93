import type { AccessTokenClaims } from "@prolong/protocol";
import type { FastifyReply, FastifyRequest } from "fastify";
import { addressedUrl, authorize, carriesToken, checkGuardOptions, type GuardOptions } from "../bearer.js";
import type { Verifier } from "../verifier.js";

declare module "fastify" {
  interface FastifyRequest {
    auth?: AccessTokenClaims;
  }
}

/**
 * A Fastify `preHandler` hook: sets `request.auth`, or answers with the challenge. A DPoP
 * proof is checked against `request.protocol` and `request.host`, which follow the
 * server's `trustProxy` setting, and `request.url`; or against `publicOrigin` when given.
 */
export function fastifyGuard(verifier: Verifier, options: GuardOptions = {}) {
  checkGuardOptions(options);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const result = await authorize(
      verifier,
      {
        authorization: request.headers.authorization,
        tokenInQuery: carriesToken(request.query),
        tokenInBody: carriesToken(request.body),
        dpop: request.headers.dpop,
        method: request.method,
        url: addressedUrl(options, request.url, () => `${request.protocol}://${request.host}${request.url}`),
      },
      options,
    );
    if (!result.ok) {
      return reply
        .code(result.challenge.status)
        .headers(result.challenge.headers)
        .send(result.challenge.body);
    }
    reply.headers(result.headers);
    request.auth = result.claims;
  };
}
