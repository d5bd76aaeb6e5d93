import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type EngineOptions, SessionEngine, type Store } from "@prolong/core";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.js";
import { policyOf, publishAheadOf, type ServerConfig } from "./config.js";
import { openStore } from "./store.js";

/** The built demo page ships inside the package, next to `dist/`. */
export const defaultPublicDir = fileURLToPath(new URL("../public/", import.meta.url));

/**
 * How often a running server re-reads the key ring, so a rotation by the CLI or another
 * instance takes effect within seconds (`publishAheadOf` allows for it).
 */
export const KEY_RELOAD_MS = 2_000;

export interface StartOptions {
  /** Where start-up notes for the person at the console go (not the structured log). */
  print?: (line: string) => void;
  engineOptions?: Partial<EngineOptions>;
}

/** The engine a configuration describes, over an open store. */
export function engineFor(
  config: ServerConfig,
  store: Store,
  extra: Partial<EngineOptions> = {},
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

/**
 * Opens the store, loads or creates keys, seeds a demo user in demo mode, and listens.
 * `url` is the issuer: where clients reach the server, which a proxy may front.
 */
export async function startServer(
  config: ServerConfig,
  options: StartOptions = {},
): Promise<{ app: FastifyInstance; engine: SessionEngine; url: string }> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const store = openStore(config.store);
  const engine = await engineFor(config, store, options.engineOptions);

  const resourceSecret = await resourceSecretOf(config, engine);
  const publicDir = config.demo && existsSync(defaultPublicDir) ? defaultPublicDir : null;
  const app = await buildApp({ engine, config: { ...config, resourceSecret }, publicDir });
  // Keys rotated by `prolong keys rotate` (or another instance) are picked up within
  // seconds: a reload is one query, keys already imported are not imported again.
  const keyReload = setInterval(() => {
    engine.keys.reload().catch((err: unknown) => app.log.error({ err }, "key reload failed"));
  }, KEY_RELOAD_MS);
  // Long-ended sessions and old events go hourly.
  const purge = setInterval(() => {
    engine.purge().catch((err: unknown) => app.log.error({ err }, "purge failed"));
  }, 3_600_000);
  keyReload.unref();
  purge.unref();
  app.addHook("onClose", async () => {
    clearInterval(keyReload);
    clearInterval(purge);
    await store.close();
  });

  const seeded = config.demo && (await engine.listAccounts({ limit: 1 })).length === 0;
  let demoPassword: string | null = null;
  if (seeded) {
    demoPassword = randomBytes(9).toString("base64url");
    await engine.createAccount({ username: "demo", password: demoPassword, claims: { roles: ["demo"] } });
  }

  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;

  // The console is often a shared log: the secret itself is never printed, only where it is.
  if (demoPassword) print(`demo user created: username "demo", password "${demoPassword}"`);
  if (!config.resourceSecret)
    print(
      `resource-server secret: kept in the store; print it with \`prolong secrets resource --store ${config.store}\` (or set PROLONG_RESOURCE_SECRET)`,
    );
  if (!config.adminToken) print("admin API is off; set PROLONG_ADMIN_TOKEN to turn it on");
  if (publicDir) print(`demo page: ${config.issuer}/`);
  // Last, so whoever waits for this line has seen everything above. The issuer is the URL
  // clients use (it may be a proxy's); the bound address is for the operator.
  print(`prolong is up at ${config.issuer} (listening on ${host}:${port}, store ${config.store})`);
  return { app, engine, url: config.issuer };
}
