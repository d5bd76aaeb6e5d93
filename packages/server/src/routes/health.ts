import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.js";

export function healthRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) => {
    // Liveness answers while the process runs; readiness also needs the store.
    app.get("/healthz", async (_request, reply) => {
      try {
        await ctx.engine.store.ping();
        return { status: "ok", store: "ok" };
      } catch {
        return reply.code(503).send({ status: "unavailable", store: "unavailable" });
      }
    });

    app.get("/metrics", async (_request, reply) => {
      reply.header("content-type", ctx.metrics.registry.contentType);
      return ctx.metrics.registry.metrics();
    });
  };
}
