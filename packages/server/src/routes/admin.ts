import { profileOf, type SecurityEvent, type SubjectDetails, subjectIdProblem } from "@prolong/core";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { AppContext } from "../context.js";
import { secretEquals } from "../credentials.js";
import { sendError, sendErrorCode } from "../http-errors.js";
import { deviceNameField, parseBody } from "../request-body.js";
import { NO_STORE, sendTokens } from "../token-response.js";
import { describeSession } from "./sessions.js";

const JSON_ONLY = ["application/json"] as const;
const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A user as the admin API shows it: the subject's standing and its account's name, if any. */
export function describeUser({ subject, account }: SubjectDetails) {
  return {
    id: subject.id,
    username: account?.username ?? null,
    disabled: subject.disabled,
    token_version: subject.tokenVersion,
    reauth_required_at: isoOrNull(subject.reauthRequiredAt),
    claims: subject.claims,
    created_at: new Date(subject.createdAt).toISOString(),
  };
}

/** A security event as the admin API shows it. */
function describeEvent(event: SecurityEvent) {
  return {
    id: event.id,
    type: event.type,
    userId: event.subjectId,
    sessionId: event.sessionId,
    at: new Date(event.at).toISOString(),
    detail: event.detail,
  };
}

const claimsSchema = z.record(z.string(), z.unknown());
const createUserBody = z
  .object({
    username: z.string().max(256),
    password: z.string().max(1024).optional(),
    claims: claimsSchema.optional(),
  })
  .strict();
/** The application's user id: the subject of the session and the `sub` of its tokens. */
const subjectField = z.string().superRefine((id, check) => {
  const problem = subjectIdProblem(id);
  if (problem !== null) check.addIssue({ code: "custom", message: problem });
});
const createSessionBody = z
  .object({
    user_id: subjectField,
    client_id: z.string().max(100).optional(),
    device_name: deviceNameField.optional(),
  })
  .strict();

const setPasswordBody = z.object({ password: z.string().max(1024) }).strict();
const rotateBody = z.object({ force: z.boolean().optional() }).strict();

type IdParams = { Params: { id: string } };

/**
 * The admin API, behind `PROLONG_ADMIN_TOKEN`. Without a configured token it
 * does not exist at all: 404, never an open door.
 */
export function adminRoutes(ctx: AppContext) {
  const { engine } = ctx;
  const token = ctx.config.adminToken;
  return async (app: FastifyInstance) => {
    if (!token) return;

    app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
      const match = /^Bearer +(\S+)$/i.exec(request.headers.authorization ?? "");
      if (!match?.[1] || !secretEquals(match[1], token)) {
        reply.header("www-authenticate", 'Bearer realm="prolong-admin"');
        return sendErrorCode(reply, "unauthorized", "admin token required");
      }
    });

    const userAction =
      (action: (id: string) => Promise<unknown>) =>
      async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
        try {
          await action(request.params.id);
          const user = await engine.describeSubject(request.params.id);
          return user ? describeUser(user) : sendErrorCode(reply, "not_found", "no such user");
        } catch (error) {
          return sendError(reply, error);
        }
      };

    app.register(
      async (admin) => {
        admin.get<{ Querystring: { after?: string; limit?: string } }>("/users", async (request) => {
          const limit = Math.min(Math.max(Number(request.query.limit ?? 100) || 100, 1), 500);
          const users = await engine.listAccounts({
            limit,
            ...(request.query.after ? { after: request.query.after } : {}),
          });
          return { users: users.map(describeUser) };
        });

        admin.post("/users", { config: { accepts: JSON_ONLY } }, async (request, reply) => {
          const body = parseBody(createUserBody, request, reply);
          if (!body) return reply;
          try {
            const user = await engine.createAccount({
              username: body.data.username,
              ...(body.data.password === undefined ? {} : { password: body.data.password }),
              ...(body.data.claims === undefined ? {} : { claims: body.data.claims }),
            });
            return reply.code(201).send(describeUser(user));
          } catch (error) {
            return sendError(reply, error);
          }
        });

        admin.get<IdParams>("/users/:id", async (request, reply) => {
          const user = await engine.describeSubject(request.params.id);
          return user ? describeUser(user) : sendErrorCode(reply, "not_found", "no such user");
        });
        admin.post<IdParams>(
          "/users/:id/disable",
          userAction((id) => engine.disableSubject(id)),
        );
        admin.post<IdParams>(
          "/users/:id/enable",
          userAction((id) => engine.enableSubject(id)),
        );
        admin.post<IdParams>(
          "/users/:id/reauth",
          userAction((id) => engine.requireReauth(id)),
        );
        admin.post<IdParams>(
          "/users/:id/logout-everywhere",
          userAction((id) => engine.logoutEverywhere(id)),
        );

        admin.put<IdParams>(
          "/users/:id/claims",
          { config: { accepts: JSON_ONLY } },
          async (request, reply) => {
            const claims = parseBody(claimsSchema, request, reply);
            if (!claims) return reply;
            return userAction((id) => engine.setClaims(id, claims.data))(request, reply);
          },
        );

        admin.put<IdParams>(
          "/users/:id/password",
          { config: { accepts: JSON_ONLY } },
          async (request, reply) => {
            const body = parseBody(setPasswordBody, request, reply);
            if (!body) return reply;
            return userAction((id) => engine.setPassword(id, body.data.password))(request, reply);
          },
        );

        admin.get<IdParams>("/users/:id/sessions", async (request) => {
          const sessions = await engine.listSessions(request.params.id);
          return { sessions: sessions.map((s) => describeSession(s, null)) };
        });

        admin.get<IdParams>("/users/:id/events", async (request) => {
          const page = await engine.listEvents({ subjectId: request.params.id, limit: 100 });
          return { events: page.events.map(describeEvent) };
        });

        // For a backend that authenticated the user itself. A web client's refresh token
        // lives in a cookie only the browser's own request to the token endpoint can get,
        // so the backend gets a one-time handoff code for the browser instead of tokens
        // (docs/protocol.md, "Handoff grant"); a native client gets its tokens here.
        admin.post("/sessions", { config: { accepts: JSON_ONLY } }, async (request, reply) => {
          const body = parseBody(createSessionBody, request, reply);
          if (!body) return reply;
          const start = {
            subjectId: body.data.user_id,
            ...(body.data.client_id === undefined ? {} : { clientId: body.data.client_id }),
            deviceName: body.data.device_name ?? null,
          };
          try {
            const clientId = body.data.client_id ?? engine.policy.defaultClientId;
            if (profileOf(engine.policy, clientId).refreshTransport === "cookie") {
              const handoff = await engine.createHandoff(start);
              return reply
                .headers(NO_STORE)
                .send({ handoff_code: handoff.code, expires_in: handoff.expiresIn });
            }
            const tokens = await engine.startSessionForSubject(start);
            return sendTokens(reply, tokens, engine.now(), ctx.refreshCookiePath);
          } catch (error) {
            return sendError(reply, error);
          }
        });

        admin.delete<IdParams>("/sessions/:id", async (request, reply) => {
          try {
            await engine.revokeSession(null, request.params.id, "admin");
            return reply.code(204).send();
          } catch (error) {
            return sendError(reply, error);
          }
        });

        admin.get("/keys", async () => {
          const listing = engine.listKeys();
          return {
            keys: listing.keys.map((k) => ({
              kid: k.kid,
              alg: k.alg,
              state: k.state,
              active: k.state === "active",
              created_at: isoOrNull(k.createdAt),
              activated_at: isoOrNull(k.activatedAt),
              retired_at: isoOrNull(k.retiredAt),
            })),
            rotation_possible_at: isoOrNull(listing.rotationPossibleAt),
          };
        });

        // `{"force": true}` promotes the next key before it has been published for the
        // JWKS max-age (a compromised key); docs/protocol.md, "Key publication".
        admin.post("/keys/rotate", { config: { accepts: JSON_ONLY } }, async (request, reply) => {
          const body = rotateBody.safeParse(request.body ?? {});
          if (!body.success) return sendErrorCode(reply, "invalid_request", 'body: {"force"?: boolean}');
          try {
            const key = await engine.rotateKeys({ force: body.data.force ?? false });
            return { kid: key.kid, alg: key.alg, next: engine.listKeys().next?.kid ?? null };
          } catch (error) {
            return sendError(reply, error);
          }
        });
      },
      { prefix: "/admin" },
    );
  };
}
