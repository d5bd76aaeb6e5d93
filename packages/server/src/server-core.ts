import { randomBytes } from "node:crypto";
import { type EngineOptions, type RateLimitStore, SessionEngine, type Store } from "@prolong/core";
import { publishAheadOf, type ServerConfig } from "./config.js";

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
    // Validated once, by resolveConfig; the engine knows it need not check it again.
    policy: config.policy,
    ...(config.clockTolerance === undefined ? {} : { clockTolerance: config.clockTolerance }),
    keyPublishAhead: publishAheadOf(config),
    ...(config.impersonation.maxTtlSeconds === undefined
      ? {}
      : { impersonationMaxTtl: config.impersonation.maxTtlSeconds }),
    ...(config.keyEncryptionKey ? { keyEncryptionKey: config.keyEncryptionKey } : {}),
    ...extra,
  });
}

/**
 * The credential of resource servers (introspection, revocation feed): the configured one,
 * else 24 random bytes generated once and kept in the store, so every process on that
 * store (servers, workers, `prolong secrets resource`) agrees on it. The one rule: the
 * routes take the secret from here too when they are not handed one (app.ts).
 */
export function resourceSecretOf(config: ServerConfig, engine: SessionEngine): Promise<string> {
  if (config.resourceSecret) return Promise.resolve(config.resourceSecret);
  return engine.resourceSecret(randomBytes(24).toString("base64url"));
}

/** What prolong's routes run on, besides the configuration: built once per store by {@link serverCore}. */
export interface ServerCore {
  engine: SessionEngine;
  /** The resource servers' credential ({@link resourceSecretOf}). */
  resourceSecret: string;
  /** The store's rate-limit counters, shared by every instance on it; the engine does not expose its store. */
  rateLimitStore: RateLimitStore;
}

/**
 * The engine, the resource servers' secret and the rate-limit counters a configuration
 * describes, over an open store: the one way they are built, by `createProlong` (and so
 * `prolong serve` and each of its workers) and by the workers' primary preparing the store.
 */
export async function serverCore(
  config: ServerConfig,
  store: Store,
  extra: EngineExtras = {},
): Promise<ServerCore> {
  const engine = await engineFor(config, store, extra);
  return { engine, resourceSecret: await resourceSecretOf(config, engine), rateLimitStore: store.limits };
}
