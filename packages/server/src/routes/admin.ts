import { profileOf, subjectIdProblem } from "@prolong/core";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { AppContext } from "../context.js";
import { secretEquals } from "../credentials.js";
import { sendError, sendErrorCode } from "../http-errors.js";
import { deviceNameField, noQuery, parseBody, parseQuery } from "../request-body.js";
import { NO_STORE, sendTokens } from "../token-response.js";
import { adminSubjectRoutes } from "./admin-subjects.js";
import { DEFAULT_PAGE, describeAdminSession, describeEvent, eventsQuery } from "./admin-views.js";

const JSON_ONLY = ["application/json"] as const;
const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

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
    acr: z.string().max(200).optional(),
    amr: z.array(z.string().max(64)).max(16).optional(),
  })
  .strict();

/** What the host vouches for after re-authenticating a session's user (RFC 9470); `null` clears. */
const stepUpBody = z
  .object({
    acr: z.string().max(200).nullable().optional(),
    amr: z.array(z.string().max(64)).max(16).nullable().optional(),
  })
  .strict();

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

    // Query parameters are validated like bodies: a route takes those its `config.query`
    // names and no others, so a misspelt filter is an error, never a silent "everything".
    app.addHook("preValidation", async (request: FastifyRequest, reply: FastifyReply) => {
      const parsed = parseQuery(request.routeOptions.config.query ?? noQuery, request, reply);
      if (!parsed) return reply;
      request.query = parsed.data;
    });

    app.register(
      async (admin) => {
        await admin.register(adminSubjectRoutes(ctx));

        admin.get<{ Querystring: z.output<typeof eventsQuery> }>(
          "/events",
          { config: { query: eventsQuery } },
          async (request, reply) => {
            const { subject, session, type, limit = DEFAULT_PAGE, after } = request.query;
            try {
              const page = await engine.listEvents({
                limit,
                ...(subject === undefined ? {} : { subjectId: subject }),
                ...(session === undefined ? {} : { sessionId: session }),
                ...(type === undefined ? {} : { type }),
                ...(after === undefined ? {} : { after }),
              });
              return { events: page.events.map(describeEvent), next: page.next };
            } catch (error) {
              return sendError(reply, error);
            }
          },
        );

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
            ...(body.data.acr === undefined ? {} : { acr: body.data.acr }),
            ...(body.data.amr === undefined ? {} : { amr: body.data.amr }),
          };
          try {
            const clientId = body.data.client_id ?? engine.policy.defaultClientId;
            if (profileOf(engine.policy, clientId).refreshTransport === "cookie") {
              // The code carries acr/amr, so the browser's session has them from its first token.
              const handoff = await engine.createHandoff(start);
              return reply
                .headers(NO_STORE)
                .send({ handoff_code: handoff.code, expires_in: handoff.expiresIn });
            }
            const tokens = await engine.startSessionForSubject(start);
            return sendTokens(reply, tokens, engine.now(), ctx.cookies);
          } catch (error) {
            return sendError(reply, error);
          }
        });

        admin.get<IdParams>("/sessions/:id", async (request, reply) => {
          const session = await engine.findSession(request.params.id);
          if (!session) return sendErrorCode(reply, "not_found", "no such session");
          return describeAdminSession(session, engine.now());
        });

        // Step-up (RFC 9470, docs/session-policies.md): the host re-authenticated the
        // session's user. Same session, same `sid`; answers only the new `auth_time`.
        admin.post<IdParams>(
          "/sessions/:id/step-up",
          { config: { accepts: JSON_ONLY } },
          async (request, reply) => {
            const body = parseBody(stepUpBody, request, reply);
            if (!body) return reply;
            try {
              const stepped = await engine.stepUp(request.params.id, {
                ...(body.data.acr === undefined ? {} : { acr: body.data.acr }),
                ...(body.data.amr === undefined ? {} : { amr: body.data.amr }),
              });
              return { session_id: stepped.sessionId, auth_time: stepped.authTime };
            } catch (error) {
              return sendError(reply, error);
            }
          },
        );

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
