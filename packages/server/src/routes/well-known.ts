import {
  type AuthorizationServerMetadata,
  DPOP_ALGS,
  ENDPOINT_PATHS,
  GRANT_TYPE_HANDOFF,
  GRANT_TYPE_REFRESH_TOKEN,
  GRANT_TYPE_TOKEN_EXCHANGE,
  METADATA_PATH,
} from "@prolong/protocol";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.js";
import { openApiDocument } from "../openapi.js";

/** RFC 8414 metadata, built from the configured issuer (never from the Host header). */
export function metadata(issuer: string): AuthorizationServerMetadata {
  return {
    issuer,
    token_endpoint: `${issuer}${ENDPOINT_PATHS.token}`,
    revocation_endpoint: `${issuer}${ENDPOINT_PATHS.revocation}`,
    introspection_endpoint: `${issuer}${ENDPOINT_PATHS.introspection}`,
    jwks_uri: `${issuer}${ENDPOINT_PATHS.jwks}`,
    grant_types_supported: [GRANT_TYPE_REFRESH_TOKEN, GRANT_TYPE_TOKEN_EXCHANGE, GRANT_TYPE_HANDOFF],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    introspection_endpoint_auth_methods_supported: ["client_secret_basic", "bearer"],
    login_endpoint: `${issuer}${ENDPOINT_PATHS.login}`,
    sessions_endpoint: `${issuer}${ENDPOINT_PATHS.sessions}`,
    revocation_feed_endpoint: `${issuer}${ENDPOINT_PATHS.revocationFeed}`,
    // RFC 9449 §5.1: published whatever the profiles' `dpop`, as the algorithms a proof may use.
    dpop_signing_alg_values_supported: [...DPOP_ALGS],
  };
}

export function wellKnownRoutes(ctx: AppContext) {
  return async (app: FastifyInstance) => {
    app.get(METADATA_PATH, async (_request, reply) => {
      reply.header("cache-control", "public, max-age=3600");
      return metadata(ctx.config.issuer);
    });

    app.get(ENDPOINT_PATHS.jwks, async (_request, reply) => {
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
