import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import type { SessionEngine } from "@prolong/core";
import type { FastifyInstance } from "fastify";
import type { LogBindings } from "./app.js";
import type { ServerConfig } from "./config.js";
import { defaultPublicDir, type EngineExtras, prolongFor } from "./prolong.js";
import { redactStoreSpec } from "./store.js";

export interface StartOptions {
  /** Where start-up notes for the person at the console go (not the structured log). */
  print?: (line: string) => void;
  engineOptions?: EngineExtras;
  /** Fields every log line of this server carries, e.g. a worker's `{ worker: 2 }`. */
  logBindings?: LogBindings;
}

/**
 * `prolong serve`: prolong built from the configuration (`prolongFor`, what the embedders'
 * `createProlong` runs too), a demo user seeded in demo mode, and the standalone server listening. `url`
 * is the issuer: where clients reach the server, which a proxy may front; `port` is the
 * one it listens on.
 */
export async function startServer(
  config: ServerConfig,
  options: StartOptions = {},
): Promise<{ app: FastifyInstance; engine: SessionEngine; url: string; port: number }> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const prolong = await prolongFor(config, {
    ...(options.engineOptions ? { engine: options.engineOptions } : {}),
    ...(options.logBindings ? { logBindings: options.logBindings } : {}),
  });
  const { engine } = prolong;
  let app: FastifyInstance;
  try {
    app = await prolong.buildServer();
  } catch (error) {
    await prolong.close();
    throw error;
  }
  app.addHook("onClose", () => prolong.close());

  const demoPassword = await seedDemoUser(config, engine);
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;

  for (const line of startupNotes(config, demoPassword)) print(line);
  print(readyLine(config, port));
  return { app, engine, url: config.issuer, port };
}

/** In demo mode on a store without accounts, creates the `demo` user and returns its password; else `null`. */
export async function seedDemoUser(config: ServerConfig, engine: SessionEngine): Promise<string | null> {
  if (!config.demo || (await engine.listAccounts({ limit: 1 })).length > 0) return null;
  const password = randomBytes(9).toString("base64url");
  await engine.createAccount({ username: "demo", password, claims: { roles: ["demo"] } });
  return password;
}

/** What the person at the console is told once the server is up, before {@link readyLine}. */
export function startupNotes(config: ServerConfig, demoPassword: string | null): string[] {
  const notes: string[] = [];
  // The console is often a shared log: a secret is never printed, only where it is (and
  // the store URL without its password).
  if (demoPassword) notes.push(`demo user created: username "demo", password "${demoPassword}"`);
  if (!config.resourceSecret)
    notes.push(
      `resource-server secret: kept in the store; print it with \`prolong secrets resource --store ${redactStoreSpec(config.store)}\` (or set PROLONG_RESOURCE_SECRET)`,
    );
  if (!config.adminToken) notes.push("admin API is off; set PROLONG_ADMIN_TOKEN to turn it on");
  if (config.demo && existsSync(defaultPublicDir)) notes.push(`demo page: ${config.issuer}/`);
  return notes;
}

/**
 * The last start-up line, which whoever waits for the server watches for. The issuer is
 * the URL clients use (it may be a proxy's); the bound address is for the operator.
 */
export function readyLine(config: ServerConfig, port: number, workers = 1): string {
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const processes = workers > 1 ? `, ${workers} workers` : "";
  return `prolong is up at ${config.issuer} (listening on ${host}:${port}, store ${redactStoreSpec(config.store)}${processes})`;
}

/**
 * Graceful shutdown on SIGTERM or SIGINT: stop accepting, let in-flight requests finish,
 * close the store, exit 0 (1 when closing failed). `repeat: "force"` leaves a second
 * signal its default action, so it ends the process at once; a worker says "ignore",
 * as it may get both a terminal's SIGINT and its primary's SIGTERM, and its primary
 * forces when asked to.
 */
export function closeOnSignals(app: FastifyInstance, repeat: "force" | "ignore"): void {
  let closing = false;
  const stop = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, "shutting down");
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    if (repeat === "force") process.once(signal, () => stop(signal));
    else process.on(signal, () => stop(signal));
  }
}
