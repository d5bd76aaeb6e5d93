import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { AppContext } from "../context.js";
import { sendError, sendErrorCode } from "../http-errors.js";
import { deviceNameField, parseBody } from "../request-body.js";
import { sendTokens } from "../token-response.js";
import {
  DEFAULT_PAGE,
  describeAdminSession,
  describeEvent,
  describeSubject,
  sessionsQuery,
  subjectEventsQuery,
  subjectsQuery,
} from "./admin-views.js";

const JSON_ONLY = ["application/json"] as const;

const claimsSchema = z.record(z.string(), z.unknown());
const createBody = z
  .object({
    username: z.string().max(256),
    password: z.string().max(1024).optional(),
    claims: claimsSchema.optional(),
  })
  .strict();
const setPasswordBody = z.object({ password: z.string().max(1024) }).strict();
/**
 * An administrator's session as the subject (docs/session-policies.md, "Impersonation"):
 * who acts, for how long, and optionally the administrator's own prolong access token
 * (RFC 8693 §2.1 `actor_token`), whose `sub` must be `actor`.
 */
const impersonateBody = z
  .object({
    actor: z.string().max(1024),
    ttl_seconds: z.number().int("must be a whole number of seconds"),
    client_id: z.string().max(100).optional(),
    device_name: deviceNameField.optional(),
    actor_token: z.string().max(8192).optional(),
  })
  .strict();

type IdParams = { Params: { id: string } };
type Query<S extends z.ZodType> = { Querystring: z.output<S> };

/**
 * The admin API's subjects (`/admin/subjects`, registered under `/admin`): the
 * application's users, whether or not they have a built-in account. A subject exists
 * once a session was started for it or an account was created; one that does not is
 * 404 `not_found`.
 */
export function adminSubjectRoutes(ctx: AppContext) {
  const { engine } = ctx;
  const noSuchSubject = (reply: FastifyReply) => sendErrorCode(reply, "not_found", "no such subject");

  /** Runs `action` on the subject of the path, then answers with the subject as it is now. */
  const subjectAction =
    (action: (id: string) => Promise<unknown>) =>
    async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
      try {
        await action(request.params.id);
        const details = await engine.describeSubject(request.params.id);
        return details ? describeSubject(details) : noSuchSubject(reply);
      } catch (error) {
        return sendError(reply, error);
      }
    };

  return async (admin: FastifyInstance) => {
    admin.get<Query<typeof subjectsQuery>>(
      "/subjects",
      { config: { query: subjectsQuery } },
      async (request, reply) => {
        const { username, limit = DEFAULT_PAGE, after } = request.query;
        try {
          if (username !== undefined) {
            const found = await engine.findSubjectByUsername(username);
            return { subjects: found ? [describeSubject(found)] : [], next: null };
          }
          const page = await engine.listSubjects({ limit, ...(after === undefined ? {} : { after }) });
          return { subjects: page.subjects.map(describeSubject), next: page.next };
        } catch (error) {
          return sendError(reply, error);
        }
      },
    );

    admin.post("/subjects", { config: { accepts: JSON_ONLY } }, async (request, reply) => {
      const body = parseBody(createBody, request, reply);
      if (!body) return reply;
      try {
        const created = await engine.createAccount({
          username: body.data.username,
          ...(body.data.password === undefined ? {} : { password: body.data.password }),
          ...(body.data.claims === undefined ? {} : { claims: body.data.claims }),
        });
        return reply.code(201).send(describeSubject(created));
      } catch (error) {
        return sendError(reply, error);
      }
    });

    admin.get<IdParams>("/subjects/:id", async (request, reply) => {
      const details = await engine.describeSubject(request.params.id);
      return details ? describeSubject(details) : noSuchSubject(reply);
    });
    admin.post<IdParams>(
      "/subjects/:id/disable",
      subjectAction((id) => engine.disableSubject(id)),
    );
    admin.post<IdParams>(
      "/subjects/:id/enable",
      subjectAction((id) => engine.enableSubject(id)),
    );
    admin.post<IdParams>(
      "/subjects/:id/reauth",
      subjectAction((id) => engine.requireReauth(id)),
    );
    admin.post<IdParams>(
      "/subjects/:id/logout-everywhere",
      subjectAction((id) => engine.logoutEverywhere(id)),
    );

    // Answered with the tokens, as `POST /admin/sessions` answers a native client: the
    // administrator's tool holds them, so only a client whose refresh token travels in
    // the body qualifies (a web client's cookie would be set on the tool's backend).
    admin.post<IdParams>(
      "/subjects/:id/impersonate",
      { config: { accepts: JSON_ONLY } },
      async (request, reply) => {
        const body = parseBody(impersonateBody, request, reply);
        if (!body) return reply;
        try {
          const tokens = await engine.impersonate({
            subjectId: request.params.id,
            actor: body.data.actor,
            ttlSeconds: body.data.ttl_seconds,
            ...(body.data.client_id === undefined ? {} : { clientId: body.data.client_id }),
            deviceName: body.data.device_name ?? null,
            ...(body.data.actor_token === undefined ? {} : { actorToken: body.data.actor_token }),
            userAgent: request.headers["user-agent"] ?? null,
            ip: request.ip,
          });
          return sendTokens(reply, tokens, engine.now(), ctx.cookies, "body");
        } catch (error) {
          return sendError(reply, error);
        }
      },
    );

    admin.put<IdParams>(
      "/subjects/:id/claims",
      { config: { accepts: JSON_ONLY } },
      async (request, reply) => {
        const claims = parseBody(claimsSchema, request, reply);
        if (!claims) return reply;
        return subjectAction((id) => engine.setClaims(id, claims.data))(request, reply);
      },
    );

    admin.put<IdParams>(
      "/subjects/:id/password",
      { config: { accepts: JSON_ONLY } },
      async (request, reply) => {
        const body = parseBody(setPasswordBody, request, reply);
        if (!body) return reply;
        return subjectAction((id) => engine.setPassword(id, body.data.password))(request, reply);
      },
    );

    admin.get<IdParams & Query<typeof sessionsQuery>>(
      "/subjects/:id/sessions",
      { config: { query: sessionsQuery } },
      async (request, reply) => {
        const { client, state = "live", limit = DEFAULT_PAGE, after } = request.query;
        if (!(await engine.describeSubject(request.params.id))) return noSuchSubject(reply);
        try {
          const page = await engine.findSessions({
            subjectId: request.params.id,
            state,
            limit,
            ...(client === undefined ? {} : { clientId: client }),
            ...(after === undefined ? {} : { after }),
          });
          const now = engine.now();
          return { sessions: page.sessions.map((s) => describeAdminSession(s, now)), next: page.next };
        } catch (error) {
          return sendError(reply, error);
        }
      },
    );

    admin.get<IdParams & Query<typeof subjectEventsQuery>>(
      "/subjects/:id/events",
      { config: { query: subjectEventsQuery } },
      async (request, reply) => {
        const { type, session, limit = DEFAULT_PAGE, after } = request.query;
        if (!(await engine.describeSubject(request.params.id))) return noSuchSubject(reply);
        try {
          const page = await engine.listEvents({
            subjectId: request.params.id,
            limit,
            ...(type === undefined ? {} : { type }),
            ...(session === undefined ? {} : { sessionId: session }),
            ...(after === undefined ? {} : { after }),
          });
          return { events: page.events.map(describeEvent), next: page.next };
        } catch (error) {
          return sendError(reply, error);
        }
      },
    );
  };
}
