import { ENDPOINT_PATHS } from "@prolong/protocol";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.js";
import { isResourceServer } from "../credentials.js";
import { sendErrorCode } from "../http-errors.js";

export function feedRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) => {
    app.get(ENDPOINT_PATHS.revocationFeed, async (request, reply) => {
      if (!isResourceServer(request, ctx.resourceSecret)) {
        reply.header("www-authenticate", 'Basic realm="prolong"');
        return sendErrorCode(reply, "unauthorized", "resource server authentication failed");
      }
      // The stream outlives this handler: Fastify hands the socket over.
      reply.hijack();
      await ctx.feed.attach(reply.raw);
    });
  };
}
