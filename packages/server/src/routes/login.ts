import { DBSC_REGISTRATION_HEADER, ENDPOINT_PATHS } from "@prolong/protocol";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { AppContext } from "../context.js";
import { readCookie } from "../credentials.js";
import { deviceCookieHeader, tokensIn } from "../device-tokens.js";
import { sendError, sendErrorCode, sendRateLimited } from "../http-errors.js";
import { accountOf } from "../limits.js";
import { deviceNameField, parseBody } from "../request-body.js";
import { NO_STORE, tokenResponse } from "../token-response.js";

const loginBody = z
  .object({
    username: z.string().max(256),
    password: z.string().max(1024),
    device_name: deviceNameField.optional(),
    client_id: z.string().max(100).optional(),
    /** The device token an app got at its last sign-in (docs/security.md, "Device tokens"). */
    device_token: z.string().max(100).optional(),
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
      await ctx.dpop.offerNonce(reply);
      let dpopJkt: string | null;
      try {
        // Before the password: a client that must prove a key is told so without a
        // password check, and a bad proof spends no password budget.
        const mode = ctx.dpop.modeOf(body.client_id ?? ctx.engine.policy.defaultClientId);
        dpopJkt = (await ctx.dpop.read(request, ENDPOINT_PATHS.login, mode))?.jkt ?? null;
      } catch (error) {
        return sendError(reply, error);
      }
      const account = accountOf(body.username);
      // A browser's tokens are in its cookie, an app's in the body; either proves an
      // earlier sign-in to this account only if it checks out for it.
      const held = tokensIn(readCookie(request, ctx.deviceCookie.name));
      const presented = body.device_token === undefined ? held : [body.device_token, ...held];
      const device = ctx.deviceTokens.find(account, presented);
      try {
        // Only wrong passwords spend budgets; a first try always gets checked, and a known
        // device answers to its own budget only (limits.ts).
        const checked = await ctx.limits.checkPassword(
          account,
          request.ip,
          () =>
            ctx.engine.signIn({
              username: body.username,
              password: body.password,
              ...(body.client_id === undefined ? {} : { clientId: body.client_id }),
              deviceName: body.device_name ?? null,
              userAgent: request.headers["user-agent"] ?? null,
              ip: request.ip,
              dpopJkt,
            }),
          device?.id ?? null,
        );
        if (checked.refused) return sendRateLimited(reply, checked.retryAfter, { oauth: false });
        const tokens = checked.result;
        const { body: answer, cookies } = tokenResponse(tokens, {
          now: ctx.engine.now(),
          cookies: ctx.cookies,
        });
        // Each sign-in gets a fresh device token, so a locked one is replaced by the
        // password (OWASP's device cookies). Browsers keep it where scripts cannot read
        // it; apps, whose refresh token is in the body too, get it in the body.
        const fresh = ctx.deviceTokens.issue(account);
        if (tokens.profile.refreshTransport === "body") answer.device_token = fresh;
        else cookies.push(deviceCookieHeader(ctx.deviceCookie, ctx.deviceTokens.held(account, fresh, held)));
        reply.headers(NO_STORE);
        if (cookies.length > 0) reply.header("set-cookie", cookies);
        // DBSC (docs/bound-sessions.md): a browser that supports it registers a key now.
        const registration = ctx.binding.registration(tokens);
        if (registration !== null) reply.header(DBSC_REGISTRATION_HEADER, registration);
        return reply.send(answer);
      } catch (error) {
        return sendError(reply, error);
      }
    });
  };
}
