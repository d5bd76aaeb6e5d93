import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import type { SessionEngine } from "@prolong/core";
import type { FastifyInstance } from "fastify";
import type { ServerConfig } from "./config.js";
import { createProlong, defaultPublicDir, type EngineExtras } from "./prolong.js";

export interface StartOptions {
  /** Where start-up notes for the person at the console go (not the structured log). */
  print?: (line: string) => void;
  engineOptions?: EngineExtras;
}

/**
 * `prolong serve`: prolong built from the configuration (`createProlong`, the embedders'
 * path too), a demo user seeded in demo mode, and the standalone server listening. `url`
 * is the issuer: where clients reach the server, which a proxy may front.
 */
export async function startServer(
  config: ServerConfig,
  options: StartOptions = {},
): Promise<{ app: FastifyInstance; engine: SessionEngine; url: string }> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const prolong = await createProlong(config, options.engineOptions ? { engine: options.engineOptions } : {});
  const { engine } = prolong;
  let app: FastifyInstance;
  try {
    app = await prolong.buildServer();
  } catch (error) {
    await prolong.close();
    throw error;
  }
  app.addHook("onClose", () => prolong.close());

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
  if (config.demo && existsSync(defaultPublicDir)) print(`demo page: ${config.issuer}/`);
  // Last, so whoever waits for this line has seen everything above. The issuer is the URL
  // clients use (it may be a proxy's); the bound address is for the operator.
  print(`prolong is up at ${config.issuer} (listening on ${host}:${port}, store ${config.store})`);
  return { app, engine, url: config.issuer };
}
