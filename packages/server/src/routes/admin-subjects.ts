import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { AppContext } from "../context.js";
import { sendError, sendErrorCode } from "../http-errors.js";
import { parseBody } from "../request-body.js";
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
