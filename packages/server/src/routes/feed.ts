import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.js";
import { isResourceServer } from "../credentials.js";

export function feedRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) => {
    app.get("/revocations/feed", async (request, reply) => {
      if (!isResourceServer(request, ctx.resourceSecret)) {
        return reply
          .code(401)
          .header("www-authenticate", 'Basic realm="prolong"')
          .send({ error: "unauthorized", message: "resource server authentication failed" });
      }
      // The stream outlives this handler: Fastify hands the socket over.
      reply.hijack();
      await ctx.feed.attach(reply.raw);
    });
  };
}
