import {
  cleanDeviceName,
  isProlongError,
  refuseImpersonator,
  type SessionRecord,
  sessionEndsAt,
} from "@prolong/core";
import { ENDPOINT_PATHS } from "@prolong/protocol";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { authenticateCaller } from "../bearer-auth.js";
import type { AppContext } from "../context.js";
import { sendError, sendErrorCode, sendRateLimited } from "../http-errors.js";
import { accountOf } from "../limits.js";
import { deviceNameField, parseBody } from "../request-body.js";

const JSON_ONLY = ["application/json"] as const;
const ONE_SESSION = `${ENDPOINT_PATHS.sessions}/:id`;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The public view of a session: no hashes, no generation. */
export function describeSession(session: SessionRecord, currentId: string | null) {
  return {
    id: session.id,
    current: session.id === currentId,
    device_name: session.deviceName,
    user_agent: session.userAgent,
    ip: session.ip,
    client_id: session.clientId,
    created_at: iso(session.createdAt),
    last_active_at: iso(session.lastActiveAt),
    expires_at: iso(sessionEndsAt(session)),
    /** An administrator acting as the user (docs/session-policies.md), shown so the user sees it. */
    impersonated_by: session.actor,
  };
}

const renameBody = z
  .object({
    device_name: deviceNameField.refine(
      (name) => cleanDeviceName(name) !== null,
      "must hold a visible character once control, bidi and zero-width characters are removed",
    ),
  })
  .strict();
const passwordBody = z
  .object({ current_password: z.string().max(1024), new_password: z.string().max(1024) })
  .strict();
const logoutBody = z.object({ everywhere: z.boolean().optional() }).strict().optional();

export function sessionRoutes(ctx: AppContext) {
  const { engine } = ctx;
  return async (app: FastifyInstance) => {
    app.get(ENDPOINT_PATHS.sessions, async (request, reply) => {
      const caller = await authenticateCaller(ctx, request, reply);
      if (!caller) return reply;
      const sessions = await engine.listSessions(caller.claims.sub);
      return { sessions: sessions.map((s) => describeSession(s, caller.session.id)) };
    });

    app.patch<{ Params: { id: string } }>(
      ONE_SESSION,
      { config: { accepts: JSON_ONLY } },
      async (request, reply) => {
        const caller = await authenticateCaller(ctx, request, reply);
        if (!caller) return reply;
        const body = parseBody(renameBody, request, reply);
        if (!body) return reply;
        try {
          const session = await engine.renameSession(
            caller.claims.sub,
            request.params.id,
            body.data.device_name,
          );
          return describeSession(session, caller.session.id);
        } catch (error) {
          return sendError(reply, error);
        }
      },
    );

    app.delete<{ Params: { id: string } }>(ONE_SESSION, async (request, reply) => {
      const caller = await authenticateCaller(ctx, request, reply);
      if (!caller) return reply;
      try {
        // Ending the session it runs in is a logout; ending one of the user's others is not
        // an impersonator's to do.
        if (request.params.id !== caller.session.id)
          refuseImpersonator(caller.session, "ending another session");
        await engine.revokeSession(caller.claims.sub, request.params.id);
        return reply.code(204).send();
      } catch (error) {
        return sendError(reply, error);
      }
    });

    // "Sign out all other devices" (P7).
    app.delete(ENDPOINT_PATHS.sessions, async (request, reply) => {
      const caller = await authenticateCaller(ctx, request, reply);
      if (!caller) return reply;
      try {
        return { revoked: await engine.revokeOtherSessions(caller.claims.sub, caller.session.id) };
      } catch (error) {
        return sendError(reply, error);
      }
    });

    app.post("/logout", { config: { accepts: JSON_ONLY } }, async (request, reply) => {
      const caller = await authenticateCaller(ctx, request, reply);
      if (!caller) return reply;
      const body = parseBody(logoutBody, request, reply);
      if (!body) return reply;
      if (body.data?.everywhere) {
        try {
          refuseImpersonator(caller.session, "logging out everywhere");
        } catch (error) {
          return sendError(reply, error);
        }
        await engine.logoutEverywhere(caller.claims.sub);
      } else await engine.logout(caller.session.id);
      return reply.header("set-cookie", ctx.cookies.cleared()).code(204).send();
    });

    app.post("/password", { config: { accepts: JSON_ONLY } }, async (request, reply) => {
      const caller = await authenticateCaller(ctx, request, reply);
      if (!caller) return reply;
      const body = parseBody(passwordBody, request, reply);
      if (!body) return reply;
      // A stolen access token must not buy unlimited password guesses: the same budgets
      // as sign-in, under the same account and address (limits.ts).
      const account = await engine.findAccountBySubject(caller.claims.sub);
      try {
        const checked = await ctx.limits.checkPassword(
          accountOf(account?.username ?? caller.claims.sub),
          request.ip,
          () =>
            engine.changePassword({
              subjectId: caller.claims.sub,
              sessionId: caller.session.id,
              currentPassword: body.data.current_password,
              newPassword: body.data.new_password,
              ip: request.ip,
            }),
        );
        if (checked.refused) return sendRateLimited(reply, checked.retryAfter, { oauth: false });
        return { revoked_other_sessions: checked.result };
      } catch (error) {
        // Not 401: that would tell clients their access token is bad and make them refresh.
        if (isProlongError(error, "invalid_credentials")) {
          return sendErrorCode(reply, "invalid_credentials", "current password is wrong", 403);
        }
        return sendError(reply, error);
      }
    });
  };
}
