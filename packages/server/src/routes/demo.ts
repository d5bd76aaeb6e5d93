import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { SOFT_EXPIRY_HEADER, SOFT_EXPIRY_VALUE } from "@prolong/protocol";
import type { FastifyInstance } from "fastify";
import { authenticateCaller } from "../bearer-auth.js";
import type { AppContext } from "../context.js";
import { sendErrorCode } from "../http-errors.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".map": "application/json",
};

export function demoRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) => {
    // The protected API the demo page calls; what any resource server behind prolong does.
    app.get("/demo/api/hello", async (request, reply) => {
      const caller = await authenticateCaller(ctx, request, reply);
      if (!caller) return reply;
      // Soft expiry (P11): the client renews once the token's `rfa` has passed.
      if (Math.floor(ctx.engine.now() / 1000) >= caller.claims.rfa)
        reply.header(SOFT_EXPIRY_HEADER, SOFT_EXPIRY_VALUE);
      return {
        message: "Hello from a protected API",
        sub: caller.claims.sub,
        sid: caller.claims.sid,
        at: new Date(ctx.engine.now()).toISOString(),
      };
    });

    const dir = ctx.publicDir;
    if (!dir) return;
    const serve = async (file: string, reply: import("fastify").FastifyReply) => {
      const type = TYPES[extname(file)];
      if (!type) return sendErrorCode(reply, "not_found", "no such file");
      try {
        const body = await readFile(join(dir, file));
        return reply
          .header("content-type", type)
          .header("cache-control", "no-cache")
          .header("x-content-type-options", "nosniff")
          .header(
            "content-security-policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
          )
          .send(body);
      } catch {
        return sendErrorCode(reply, "not_found", "no such file");
      }
    };
    app.get("/", async (_request, reply) => serve("index.html", reply));
    app.get<{ Params: { file: string } }>("/assets/:file", async (request, reply) => {
      // One flat folder: anything with a path separator or dot-dot is not ours.
      const file = normalize(request.params.file);
      if (file.includes("/") || file.includes("\\") || file.startsWith(".")) {
        return sendErrorCode(reply, "not_found", "no such file");
      }
      return serve(file, reply);
    });
  };
}
