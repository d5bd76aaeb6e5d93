import { hostname } from "node:os";
import type { RateLimitStore, SessionEngine } from "@prolong/core";
import { CSRF_HEADER, ENDPOINT_PATHS } from "@prolong/protocol";
import Fastify, { type FastifyInstance, type preParsingAsyncHookHandler } from "fastify";
import { trustProxyOption } from "./client-address.js";
import type { ServerConfig } from "./config.js";
import type { AppContext } from "./context.js";
import { sessionBinding } from "./dbsc/session-binding.js";
import { DeviceTokens, deviceCookieFor } from "./device-tokens.js";
import { DpopProofs, serverNonces } from "./dpop.js";
import { RevocationPublisher } from "./feed.js";
import { frameworkOptions } from "./framework-errors.js";
import { Limits } from "./limits.js";
import { Metrics } from "./metrics.js";
import { errors } from "./plugins/errors.js";
import { lifecycle } from "./plugins/lifecycle.js";
import { observability } from "./plugins/observability.js";
import { BODY_LIMIT, parsers } from "./plugins/parsers.js";
import { privateCookies } from "./plugins/private-cookies.js";
import { routes } from "./plugins/routes.js";
import { RequestLog } from "./request-log.js";
import { resourceSecretOf } from "./server-core.js";
import { sessionCookies } from "./session-cookies.js";

export { BODY_LIMIT };

/** What prolong's routes are built from, wherever they are mounted. */
export interface ProlongRoutesOptions {
  engine: SessionEngine;
  config: ServerConfig;
  /**
   * Where rate-limit counters live: the store's (`store.limits`), so every instance on
   * one store shares one budget, or a store of their own.
   */
  rateLimitStore: RateLimitStore;
  /**
   * The resource servers' credential, when the caller already has it (`serverCore`);
   * else it is the configured one or the one kept in the store (`resourceSecretOf`).
   */
  resourceSecret?: string;
  /** Where the demo page's files are, served when `config.demo` is on; `null` turns the page off. */
  publicDir?: string | null;
}

export interface BuildAppOptions extends ProlongRoutesOptions {
  /** Where JSON log lines go (default stdout); they are redacted wherever they go. */
  logStream?: { write(line: string): void };
  /** Fields every log line carries besides pino's `pid` and `hostname`, e.g. a worker's `{ worker: 2 }`. */
  logBindings?: LogBindings;
  /**
   * The path prolong's routes are served under; default none (the standalone server,
   * which a proxy may front under the issuer's path).
   */
  prefix?: string;
  /** Runs before a body is parsed (the Express handler gives back a body a host's parser read). */
  preParsing?: preParsingAsyncHookHandler;
}

/** Fields added to every log line of an instance. */
export type LogBindings = Readonly<Record<string, string | number>>;

/**
 * pino's `base` option for `bindings`: the fields pino puts on every line by default
 * (`pid`, `hostname`) plus these. Bound once, not per line as a `mixin` would be.
 */
export function logBase(bindings: LogBindings | undefined): { base?: Record<string, unknown> } {
  return bindings ? { base: { pid: process.pid, hostname: hostname(), ...bindings } } : {};
}

/** Everything a log line could carry a credential in. */
export const redactedPaths = [
  "req.headers.authorization",
  "req.headers.cookie",
  `req.headers["${CSRF_HEADER}"]`,
  'res.headers["set-cookie"]',
];

const registeredRoutes = new WeakMap<FastifyInstance, { method: string; url: string }[]>();

/** Every route an app serves (HEAD aside), for checking the OpenAPI document against it. */
export function routesOf(app: FastifyInstance): readonly { method: string; url: string }[] {
  return registeredRoutes.get(app) ?? [];
}

/**
 * The issuer's origin and the configured ones. A localhost issuer also answers as
 * 127.0.0.1 and [::1], which are the same machine, so the demo works whichever a
 * person types.
 */
function allowedOrigins(config: ServerConfig): Set<string> {
  const issuer = new URL(config.issuer);
  const origins = new Set([issuer.origin, ...config.allowedOrigins.map((o) => new URL(o).origin)]);
  if (issuer.hostname === "localhost") {
    for (const host of ["127.0.0.1", "[::1]"])
      origins.add(`${issuer.protocol}//${host}${issuer.port ? `:${issuer.port}` : ""}`);
  }
  return origins;
}

/**
 * The standalone prolong HTTP API over an engine, its routes at `prefix` (none by
 * default); what `prolong serve` listens with. Nothing listens until the caller says so.
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      ...(options.logStream ? { stream: options.logStream } : {}),
      ...logBase(options.logBindings),
      redact: { paths: redactedPaths, censor: "[redacted]" },
      serializers: {
        // The default serializer logs the full URL; a query string may hold a token.
        req: (req) => ({ method: req.method, url: req.url.split("?")[0], remoteAddress: req.ip }),
      },
    },
    logController: new RequestLog(),
    bodyLimit: BODY_LIMIT,
    trustProxy: trustProxyOption(config.trustProxy),
    return503OnClosing: true,
    ...frameworkOptions,
  });

  const served: { method: string; url: string }[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat())
      if (method !== "HEAD") served.push({ method, url: route.url });
  });
  registeredRoutes.set(app, served);
  if (options.preParsing) app.addHook("preParsing", options.preParsing);
  await app.register(async (scope) => mountProlong(scope, options), { prefix: options.prefix ?? "" });
  return app;
}

/**
 * The services prolong's routes share, built once per mount and free of Fastify (a
 * surface other than Fastify's would build the same): metrics, rate limits, the
 * revocation feed, device tokens, the resource secret and what the configuration fixes.
 */
export async function appContext(
  options: ProlongRoutesOptions,
  log: { error(fields: object, message: string): void },
): Promise<AppContext> {
  const { engine, config } = options;
  const resourceSecret = options.resourceSecret ?? (await resourceSecretOf(config, engine));
  // Nonces derive from the resource secret, which every instance on the store shares.
  const nonces = config.dpop.nonce ? serverNonces(resourceSecret, () => engine.now()) : null;
  return {
    engine,
    config,
    metrics: new Metrics(),
    limits: new Limits(options.rateLimitStore, config.rateLimits, () => engine.now()),
    feed: new RevocationPublisher(engine, {
      onError: (err) => log.error({ err }, "revocation feed: reading the store failed"),
    }),
    origins: allowedOrigins(config),
    resourceSecret,
    publicDir: config.demo ? (options.publicDir ?? null) : null,
    cookies: sessionCookies(config.issuer, config.cookies),
    // One key per store, so a token issued by one instance counts on every other.
    deviceTokens: new DeviceTokens(await engine.sharedSecret("device-token-mac"), () => engine.now()),
    deviceCookie: deviceCookieFor(config.issuer, ENDPOINT_PATHS.login),
    binding: await sessionBinding(engine, config.issuer),
    dpop: new DpopProofs(engine, config.issuer, nonces),
  };
}

/**
 * Registers prolong's routes on `app`, an encapsulated Fastify context (a plugin's
 * instance, under its prefix): its hooks, content-type parsers, error and not-found
 * handlers apply to these routes only, never to the host application's (docs/protocol.md,
 * "Mounting in a host application"). Every way of serving prolong (the standalone
 * server, the Fastify plugin, the Express and Fetch handlers) runs this one assembly.
 */
export async function mountProlong(app: FastifyInstance, options: ProlongRoutesOptions): Promise<void> {
  const ctx = await appContext(options, app.log);
  // The order is the assembly's. Parsers and observability hook each route as it is
  // added, so they come before the routes; errors and lifecycle apply to the scope as a
  // whole. Each but the routes shares what it adds with this scope (fastify-plugin).
  await app.register(parsers);
  await app.register(observability, { engine: ctx.engine, metrics: ctx.metrics });
  await app.register(errors);
  await app.register(lifecycle, { feed: ctx.feed });
  await app.register(privateCookies);
  await app.register(routes, { ctx });
}
