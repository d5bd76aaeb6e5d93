/**
 * The OpenAPI 3.1 description of the HTTP API. A test compares it with the routes the
 * app registers, so the two cannot drift apart.
 */

type Op = {
  summary: string;
  tags: string[];
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  parameters?: unknown[];
};

const form = (properties: Record<string, unknown>, required: string[] = []) => ({
  required: true,
  content: { "application/x-www-form-urlencoded": { schema: { type: "object", properties, required } } },
});
const json = (properties: Record<string, unknown>, required: string[] = []) => ({
  required: true,
  content: { "application/json": { schema: { type: "object", properties, required } } },
});
const str = { type: "string" };
type Security = Record<string, string[]>[];
const bearer: Security = [{ bearer: [] }];
const admin: Security = [{ admin: [] }];
const resource: Security = [{ resourceBasic: [] }, { resourceBearer: [] }];

/** Query parameters; any other is refused (400 `invalid_request`, docs/protocol.md). */
const query = (params: Record<string, [description: string, schema?: object]>) =>
  Object.entries(params).map(([name, [description, schema = str]]) => ({
    name,
    in: "query",
    required: false,
    description,
    schema,
  }));
const page = {
  limit: ["page size (default 100)", { type: "integer", minimum: 1, maximum: 500 }],
  after: ["the `next` of the previous page"],
} satisfies Record<string, [string, object?]>;
const eventFilters = {
  type: ["only events of this type (signed_in, session_revoked, …)"],
  session: ["only events of this session"],
  ...page,
} satisfies Record<string, [string, object?]>;

const op = (summary: string, tag: string, extra: Partial<Op> = {}): Op => ({
  summary,
  tags: [tag],
  ...extra,
});

/** Browser-facing endpoints answer CORS preflights for the configured origins (docs/protocol.md). */
const preflight = op("CORS preflight, for the configured allowedOrigins", "cors");

export const operations: Record<string, Record<string, Op>> = {
  "/.well-known/oauth-authorization-server": {
    get: op("Authorization server metadata (RFC 8414)", "discovery"),
    options: preflight,
  },
  "/.well-known/jwks.json": { get: op("Public signing keys (RFC 7517)", "discovery") },
  "/openapi.json": { get: op("This document", "discovery") },
  "/login": {
    options: preflight,
    post: op("Sign in with username and password", "sessions", {
      requestBody: json(
        { username: str, password: str, device_name: str, client_id: str, device_token: str },
        ["username", "password"],
      ),
    }),
  },
  "/oauth/token": {
    options: preflight,
    post: op("Refresh (RFC 6749 §6), exchange an access token (RFC 8693) or redeem a handoff code", "oauth", {
      requestBody: form(
        {
          grant_type: str,
          refresh_token: str,
          client_id: str,
          subject_token: str,
          subject_token_type: str,
          code: str,
        },
        ["grant_type"],
      ),
    }),
  },
  "/oauth/revoke": {
    options: preflight,
    post: op("Revoke a token and its session (RFC 7009)", "oauth", {
      requestBody: form({ token: str, token_type_hint: str, client_id: str }),
    }),
  },
  "/dbsc/register": {
    post: op(
      "DBSC: register the browser's key, its proof in the Secure-Session-Response header; sets the bound cookie",
      "dbsc",
    ),
  },
  "/dbsc/refresh": {
    post: op(
      "DBSC: renew the bound cookie; 403 with Secure-Session-Challenge, then a proof signed by the registered key",
      "dbsc",
    ),
  },
  "/oauth/introspect": {
    post: op("Introspect a token (RFC 7662)", "oauth", {
      security: resource,
      requestBody: form({ token: str, token_type_hint: str }, ["token"]),
    }),
  },
  "/revocations/feed": {
    get: op("Server-Sent Events of revocations", "resource servers", { security: resource }),
  },
  "/sessions": {
    options: preflight,
    get: op("The caller's sessions", "sessions", { security: bearer }),
    delete: op("Revoke all the caller's other sessions", "sessions", { security: bearer }),
  },
  "/sessions/{id}": {
    options: preflight,
    patch: op("Rename a session", "sessions", {
      security: bearer,
      requestBody: json({ device_name: str }, ["device_name"]),
    }),
    delete: op("Revoke a session", "sessions", { security: bearer }),
  },
  "/logout": {
    options: preflight,
    post: op("End the current session, or all of them", "sessions", {
      security: bearer,
      requestBody: json({ everywhere: { type: "boolean" } }),
    }),
  },
  "/password": {
    options: preflight,
    post: op("Change the password; ends the other sessions", "sessions", {
      security: bearer,
      requestBody: json({ current_password: str, new_password: str }, ["current_password", "new_password"]),
    }),
  },
  "/healthz": { get: op("Liveness and store readiness", "operations") },
  "/metrics": { get: op("Prometheus metrics", "operations") },
  "/demo/api/hello": { get: op("A protected demo API", "demo", { security: bearer }) },
  "/": { get: op("Demo page", "demo") },
  "/assets/{file}": { get: op("Demo page assets", "demo") },
  "/admin/subjects": {
    get: op("Subjects with a built-in account by username, or the one with `username`", "admin", {
      security: admin,
      parameters: query({ username: ["the subject whose account has this username"], ...page }),
    }),
    post: op("Create a subject with a built-in account", "admin", {
      security: admin,
      requestBody: json({ username: str, password: str, claims: { type: "object" } }, ["username"]),
    }),
  },
  "/admin/subjects/{id}": {
    get: op("One subject, with or without an account", "admin", { security: admin }),
  },
  "/admin/subjects/{id}/disable": {
    post: op("Disable a subject and end its sessions", "admin", { security: admin }),
  },
  "/admin/subjects/{id}/enable": { post: op("Enable a subject", "admin", { security: admin }) },
  "/admin/subjects/{id}/reauth": { post: op("Require re-authentication", "admin", { security: admin }) },
  "/admin/subjects/{id}/logout-everywhere": {
    post: op("Log a subject out everywhere", "admin", { security: admin }),
  },
  "/admin/subjects/{id}/impersonate": {
    post: op(
      "Start an administrator's session as the subject: its tokens carry act, it ends after ttl_seconds (docs/session-policies.md)",
      "admin",
      {
        security: admin,
        requestBody: json(
          {
            actor: str,
            ttl_seconds: { type: "integer" },
            client_id: str,
            device_name: str,
            actor_token: str,
          },
          ["actor", "ttl_seconds"],
        ),
      },
    ),
  },
  "/admin/subjects/{id}/claims": {
    put: op("Replace a subject's claims", "admin", { security: admin, requestBody: json({}) }),
  },
  "/admin/subjects/{id}/password": {
    put: op("Set the password of a subject's account", "admin", {
      security: admin,
      requestBody: json({ password: str }, ["password"]),
    }),
  },
  "/admin/subjects/{id}/sessions": {
    get: op("A subject's sessions, newest first", "admin", {
      security: admin,
      parameters: query({
        client: ["only sessions of this client"],
        state: ["live (default) or all, ended ones included", { type: "string", enum: ["live", "all"] }],
        ...page,
      }),
    }),
  },
  "/admin/subjects/{id}/events": {
    get: op("A subject's security events, newest first", "admin", {
      security: admin,
      parameters: query(eventFilters),
    }),
  },
  "/admin/events": {
    get: op("Security events, newest first", "admin", {
      security: admin,
      parameters: query({ subject: ["only events of this subject"], ...eventFilters }),
    }),
  },
  "/admin/sessions": {
    post: op(
      "Start a session for a user authenticated elsewhere: tokens (native) or a handoff code (web); acr/amr reach the session's tokens either way",
      "admin",
      {
        security: admin,
        requestBody: json(
          {
            user_id: str,
            client_id: str,
            device_name: str,
            acr: str,
            amr: { type: "array", items: str },
          },
          ["user_id"],
        ),
      },
    ),
  },
  "/admin/sessions/{id}": {
    get: op("Any session, ended or not", "admin", { security: admin }),
    delete: op("Revoke any session", "admin", { security: admin }),
  },
  "/admin/sessions/{id}/step-up": {
    post: op(
      "Step-up (RFC 9470): the session's user re-authenticated; auth_time becomes now, acr/amr as given",
      "admin",
      {
        security: admin,
        requestBody: json({ acr: str, amr: { type: "array", items: str } }),
      },
    ),
  },
  "/admin/keys": { get: op("Next, active and retired signing keys", "admin", { security: admin }) },
  "/admin/keys/rotate": {
    post: op("Let the published next key sign (docs/protocol.md, Key publication)", "admin", {
      security: admin,
      requestBody: { ...json({ force: { type: "boolean" } }), required: false },
    }),
  },
};

const DEMO_API = new Set(["/demo/api/hello"]);
const DEMO_PAGE = new Set(["/", "/assets/{file}"]);

/**
 * The document for one server: the demo API only in demo mode, and the demo page's
 * routes only when it also serves the page.
 */
export function openApiDocument(issuer: string, options: { demo: boolean; demoPage: boolean }) {
  return {
    openapi: "3.1.0",
    info: {
      title: "prolong",
      version: "0.1.0",
      description: "Sessions with short-lived JWTs and rotating refresh tokens.",
    },
    servers: [{ url: issuer }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        admin: { type: "http", scheme: "bearer", description: "PROLONG_ADMIN_TOKEN" },
        resourceBasic: {
          type: "http",
          scheme: "basic",
          description: "client `resource`, PROLONG_RESOURCE_SECRET",
        },
        resourceBearer: { type: "http", scheme: "bearer", description: "PROLONG_RESOURCE_SECRET" },
      },
    },
    paths: Object.fromEntries(
      Object.entries(operations)
        .filter(
          ([path]) => (options.demo || !DEMO_API.has(path)) && (options.demoPage || !DEMO_PAGE.has(path)),
        )
        .map(([path, methods]) => [
          path,
          Object.fromEntries(
            Object.entries(methods).map(([method, o]) => [
              method,
              { ...o, responses: { default: { description: "See docs/protocol.md" } } },
            ]),
          ),
        ]),
    ),
  };
}
