import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.js";
import { openApiDocument } from "../openapi.js";

/** RFC 8414 metadata, built from the configured issuer (never from the Host header). */
export function metadata(issuer: string) {
  return {
    issuer,
    token_endpoint: `${issuer}/oauth/token`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    grant_types_supported: ["refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    introspection_endpoint_auth_methods_supported: ["client_secret_basic", "bearer"],
    login_endpoint: `${issuer}/login`,
    sessions_endpoint: `${issuer}/sessions`,
    revocation_feed_endpoint: `${issuer}/revocations/feed`,
  };
}

export function wellKnownRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) => {
    app.get("/.well-known/oauth-authorization-server", async (_request, reply) => {
      reply.header("cache-control", "public, max-age=3600");
      return metadata(ctx.config.issuer);
    });

    app.get("/.well-known/jwks.json", async (_request, reply) => {
      // The next key is in here at least max-age before it signs, so a verifier that
      // honours max-age always knows the key of the newest token (docs/protocol.md).
      reply.header("cache-control", `public, max-age=${ctx.config.jwksMaxAge}, must-revalidate`);
      return ctx.engine.keys.jwks();
    });

    app.get("/openapi.json", async () =>
      openApiDocument(ctx.config.issuer, { demo: ctx.config.demo, demoPage: ctx.publicDir !== null }),
    );
  };
}
