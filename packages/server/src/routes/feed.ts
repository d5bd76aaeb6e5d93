import { ENDPOINT_PATHS } from "@prolong/protocol";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.js";
import { isResourceServer } from "../credentials.js";
import { FEED_CONTENT_TYPE } from "../feed.js";
import { sendErrorCode } from "../http-errors.js";

export function feedRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) => {
    app.get(ENDPOINT_PATHS.revocationFeed, async (request, reply) => {
      if (!isResourceServer(request, ctx.resourceSecret)) {
        reply.header("www-authenticate", 'Basic realm="prolong"');
        return sendErrorCode(reply, "unauthorized", "resource server authentication failed");
      }
      // A HEAD has no body, so no stream to wait on: its headers are the whole answer
      // (RFC 9110 §9.3.2), not a request held open until the caller gives up.
      if (request.method === "HEAD") {
        return reply.type(FEED_CONTENT_TYPE).header("cache-control", "no-store").send();
      }
      // The stream outlives this handler: Fastify hands the socket over.
      reply.hijack();
      await ctx.feed.attach(reply.raw);
    });
  };
}
