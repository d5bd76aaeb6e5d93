import { ENDPOINT_PATHS } from "@prolong/protocol";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { AppContext } from "../context.js";
import { sendError, sendErrorCode, sendRateLimited } from "../http-errors.js";
import { accountOf } from "../limits.js";
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
  return async (app: FastifyInstance) => {
    app.post(ENDPOINT_PATHS.login, { config: { accepts: ["application/json"] } }, async (request, reply) => {
      // Login CSRF: a foreign page must not sign the browser into someone else's account.
      const origin = request.headers.origin;
      if (origin !== undefined && !ctx.origins.has(origin)) {
        return sendErrorCode(reply, "forbidden_origin", "requests from this origin are refused");
      }
      const parsed = parseBody(loginBody, request, reply);
      if (!parsed) return reply;
      const body = parsed.data;
      try {
        // Only wrong passwords spend budgets, and a first try always gets checked (limits.ts).
        const checked = await ctx.limits.checkPassword(accountOf(body.username), request.ip, () =>
          ctx.engine.signIn({
            username: body.username,
            password: body.password,
            ...(body.client_id === undefined ? {} : { clientId: body.client_id }),
            deviceName: body.device_name ?? null,
            userAgent: request.headers["user-agent"] ?? null,
            ip: request.ip,
          }),
        );
        if (checked.refused) return sendRateLimited(reply, checked.retryAfter, { oauth: false });
        return sendTokens(reply, checked.result, ctx.engine.now(), ctx.refreshCookiePath);
      } catch (error) {
        return sendError(reply, error);
      }
    });
  };
}
