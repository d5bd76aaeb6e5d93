import { randomBytes } from "node:crypto";
import { type EngineOptions, SessionEngine, type Store } from "@prolong/core";
import { policyOf, publishAheadOf, type ServerConfig } from "./config.js";

// Apart from createProlong (prolong.ts), which loads Fastify and the logger: the CLI's
// store commands build an engine and need nothing of the HTTP server.

/**
 * What an embedding application may give the engine beyond the configuration. Everything
 * the configuration holds (issuer, audience, alg, policy, clock tolerance, key
 * publication) comes from it alone, so a setting is never silently overridden.
 */
export type EngineExtras = Partial<
  Pick<EngineOptions, "claims" | "clock" | "random" | "passwordCost" | "onEvent">
>;

/** The engine a configuration describes, over an open store: for the server, the CLI and embedders alike. */
export function engineFor(
  config: ServerConfig,
  store: Store,
  extra: EngineExtras = {},
): Promise<SessionEngine> {
  return SessionEngine.create({
    store,
    issuer: config.issuer,
    audience: config.audience,
    alg: config.alg,
    policy: policyOf(config),
    ...(config.clockTolerance === undefined ? {} : { clockTolerance: config.clockTolerance }),
    keyPublishAhead: publishAheadOf(config),
    ...(config.keyEncryptionKey ? { keyEncryptionSecret: config.keyEncryptionKey } : {}),
    ...extra,
  });
}

/**
 * The credential of resource servers (introspection, revocation feed): the configured one,
 * else one generated once and kept in the store, so every process on that store (servers,
 * `prolong secrets resource`) agrees on it.
 */
export function resourceSecretOf(config: ServerConfig, engine: SessionEngine): Promise<string> {
  if (config.resourceSecret) return Promise.resolve(config.resourceSecret);
  return engine.resourceSecret(randomBytes(24).toString("base64url"));
}
