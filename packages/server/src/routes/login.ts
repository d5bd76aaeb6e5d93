import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { defaultRateLimits } from "../config.js";
import type { AppContext } from "../context.js";
import { sendError } from "../http-errors.js";
import { deviceNameField, parseBody } from "../request-body.js";
import { sendTokens } from "../token-response.js";

const loginBody = z
  .object({
    username: z.string().max(256),
    password: z.string().max(1024),
    device_name: deviceNameField.optional(),
    client_id: z.string().max(100).optional(),
  })
  .strict();

export function loginRoutes(ctx: AppContext) {
  const limit = ctx.config.rateLimits.login ?? defaultRateLimits.login;
  return async (app: FastifyInstance) => {
    app.post("/login", { config: { accepts: ["application/json"] } }, async (request, reply) => {
      // Login CSRF: a foreign page must not sign the browser into someone else's account.
      const origin = request.headers.origin;
      if (origin !== undefined && !ctx.origins.has(origin)) {
        return reply
          .code(403)
          .send({ error: "forbidden_origin", message: "requests from this origin are refused" });
      }
      const wait = ctx.limiter.hit(`login:${request.ip}`, limit);
      if (wait > 0) {
        return reply
          .code(429)
          .header("retry-after", String(wait))
          .send({ error: "rate_limited", message: "too many sign-in attempts" });
      }
      const parsed = parseBody(loginBody, request, reply);
      if (!parsed) return reply;
      const body = parsed.data;
      try {
        const tokens = await ctx.engine.signIn({
          username: body.username,
          password: body.password,
          ...(body.client_id === undefined ? {} : { clientId: body.client_id }),
          deviceName: body.device_name ?? null,
          userAgent: request.headers["user-agent"] ?? null,
          ip: request.ip,
        });
        return sendTokens(reply, tokens, ctx.engine.now());
      } catch (error) {
        return sendError(reply, error);
      }
    });
  };
}
