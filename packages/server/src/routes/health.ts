import type { ErrorBody } from "@prolong/protocol";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.js";
import { STORE_RETRY_AFTER_SECONDS } from "../http-errors.js";

export function healthRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) => {
    // Readiness: the store must commit a write (ping), since sign-in and refresh all write.
    app.get("/healthz", async (request, reply) => {
      try {
        await ctx.engine.ready();
        return { status: "ok", store: "ok" };
      } catch (err) {
        request.log.warn({ err }, "readiness: the store cannot write");
        return reply
          .code(503)
          .header("retry-after", String(STORE_RETRY_AFTER_SECONDS))
          .header("cache-control", "no-store")
          .send({
            status: "unavailable",
            store: "unavailable",
            // The common error shape too (docs/protocol.md, "Errors"), beside the readiness fields.
            error: "store_unavailable",
            error_description: "the session store cannot commit a write; sign-in and refresh would fail",
          } satisfies ErrorBody & { status: string; store: string });
      }
    });

    app.get("/metrics", async (_request, reply) => {
      reply.header("content-type", ctx.metrics.registry.contentType);
      return ctx.metrics.registry.metrics();
    });
  };
}
