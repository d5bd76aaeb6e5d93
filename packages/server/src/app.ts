import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { isProlongError, type RateLimitStore, type SessionEngine } from "@prolong/core";
import { CSRF_HEADER, ENDPOINT_PATHS, type ErrorCode } from "@prolong/protocol";
import Fastify, { type FastifyInstance, type preParsingAsyncHookHandler } from "fastify";
import { trustProxyOption } from "./client-address.js";
import type { ServerConfig } from "./config.js";
import type { AppContext } from "./context.js";
import { Cors } from "./cors.js";
import { refreshCookiePath } from "./credentials.js";
import { DeviceTokens, deviceCookieFor } from "./device-tokens.js";
import { RevocationPublisher } from "./feed.js";
import { frameworkOptions } from "./framework-errors.js";
import { sendErrorCode, sendOAuthError, sendUnavailable } from "./http-errors.js";
import { Limits } from "./limits.js";
import { Metrics } from "./metrics.js";
import { parseJsonBody } from "./request-body.js";
import { RequestLog } from "./request-log.js";
import { addRouteHook, contentTypeCheck } from "./route-hooks.js";
import { adminRoutes } from "./routes/admin.js";
import { demoRoutes } from "./routes/demo.js";
import { feedRoutes } from "./routes/feed.js";
import { healthRoutes } from "./routes/health.js";
import { loginRoutes } from "./routes/login.js";
import { oauthRoutes } from "./routes/oauth.js";
import { sessionRoutes } from "./routes/sessions.js";
import { wellKnownRoutes } from "./routes/well-known.js";

/** What prolong's routes are built from, wherever they are mounted. */
export interface ProlongRoutesOptions {
  engine: SessionEngine;
  config: ServerConfig;
  /** Where the demo page's files are, served when `config.demo` is on; `null` turns the page off. */
  publicDir?: string | null;
  /**
   * Where rate-limit counters live; default the engine's store, so every instance on one
   * store shares one budget.
   */
  rateLimitStore?: RateLimitStore;
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

/** Body size cap: the largest legitimate request (a login) is a few hundred bytes. */
export const BODY_LIMIT = 16 * 1024;

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

  const routes: { method: string; url: string }[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat())
      if (method !== "HEAD") routes.push({ method, url: route.url });
  });
  registeredRoutes.set(app, routes);
  if (options.preParsing) app.addHook("preParsing", options.preParsing);
  await app.register(async (scope) => mountProlong(scope, options), { prefix: options.prefix ?? "" });
  return app;
}

/**
 * Registers prolong's routes on `app`, an encapsulated Fastify context (a plugin's
 * instance, under its prefix): its hooks, content-type parsers, error and not-found
 * handlers apply to these routes only, never to the host application's (docs/protocol.md,
 * "Mounting in a host application").
 */
export async function mountProlong(app: FastifyInstance, options: ProlongRoutesOptions): Promise<void> {
  const { engine, config } = options;
  // A host's Fastify has its own body limit; prolong's routes keep prolong's.
  app.addHook("onRoute", (route) => {
    route.bodyLimit ??= BODY_LIMIT;
  });
  const cors = new Cors(config.allowedOrigins, app.prefix);
  app.addHook("onRoute", cors.onRoute);

  const metrics = new Metrics();
  const unsubscribe = engine.subscribe((event) => metrics.observe(event));
  // A listener's failure (the security-event log's write among them) never fails the
  // request that caused the event, but it is never silent either (engine/events.ts).
  const unreport = engine.onListenerFailure((err, event) => {
    metrics.listenerFailures.inc({ event: event.type });
    app.log.error({ err, event: event.type }, "engine event listener failed");
  });
  const feed = new RevocationPublisher(engine, {
    onError: (err) => app.log.error({ err }, "revocation feed: reading the store failed"),
  });
  const ctx: AppContext = {
    engine,
    config,
    metrics,
    limits: new Limits(options.rateLimitStore ?? engine.rateLimits, config.rateLimits, () => engine.now()),
    feed,
    origins: allowedOrigins(config),
    resourceSecret: config.resourceSecret ?? randomBytes(32).toString("base64url"),
    publicDir: config.demo ? (options.publicDir ?? null) : null,
    refreshCookiePath: refreshCookiePath(config.issuer),
    // One key per store, so a token issued by one instance counts on every other.
    deviceTokens: new DeviceTokens(await engine.sharedSecret("device-token-mac"), () => engine.now()),
    deviceCookie: deviceCookieFor(config.issuer, ENDPOINT_PATHS.login),
  };

  // Ours replace whatever parsers of these types the host set, in this context only.
  app.removeContentTypeParser(["application/json", "application/x-www-form-urlencoded"]);

  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string" },
    (_request, body, done) => {
      const params = new URLSearchParams(body as string);
      const out: Record<string, string> = {};
      for (const [key, value] of params) {
        if (Object.hasOwn(out, key)) {
          done(
            Object.assign(new Error(`parameter "${key}" is repeated`), {
              statusCode: 400,
              code: "invalid_request",
            }),
          );
          return;
        }
        out[key] = value;
      }
      done(null, out);
    },
  );

  // Per route, so each hook runs only where it matters and knows its route without
  // asking Fastify on every request (`request.routeOptions` builds an object each time).
  app.addHook("onRoute", (route) => {
    const accepts = route.config?.accepts;
    if (accepts)
      addRouteHook(route, "preValidation", contentTypeCheck(accepts, route.config?.oauth === true));
    // Latency by route template, never the raw URL (unbounded label values).
    const label = route.url;
    addRouteHook(route, "onResponse", (request, reply, done) => {
      metrics.observeRequest(request.method, label, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  });
  // Requests no route matched count as "unknown".
  app.addHook("onResponse", (request, reply, done) => {
    if (request.is404)
      metrics.observeRequest(request.method, "unknown", reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    // Whatever route met it: an unusable store is 503 + Retry-After, never a 500 or a 4xx.
    if (isProlongError(error, "store_unavailable")) {
      request.log.warn({ err: error }, "store unavailable");
      return sendUnavailable(reply, request.routeOptions.config?.oauth === true);
    }
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, "request failed");
    const code: ErrorCode =
      status === 413 ? "payload_too_large" : status === 415 ? "unsupported_media_type" : "invalid_request";
    const message = status >= 500 ? "internal error" : error.message;
    if (request.routeOptions.config?.oauth) {
      return sendOAuthError(reply, status, status >= 500 ? "server_error" : "invalid_request", message);
    }
    return sendErrorCode(reply, status >= 500 ? "internal_error" : code, message, status);
  });
  app.setNotFoundHandler((request, reply) =>
    sendErrorCode(reply, "not_found", `no route ${request.method} ${request.url.split("?")[0]}`),
  );

  // Graceful shutdown: requests in flight finish, but their keep-alive connections
  // must not hold the server open afterwards, so answers say "Connection: close".
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
    feed.close();
  });
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) reply.header("connection", "close");
    done(null, payload);
  });
  app.addHook("onClose", async () => {
    unsubscribe();
    unreport();
  });

  await app.register(wellKnownRoutes(ctx));
  await app.register(loginRoutes(ctx));
  await app.register(oauthRoutes(ctx));
  await app.register(sessionRoutes(ctx));
  await app.register(feedRoutes(ctx));
  await app.register(adminRoutes(ctx));
  await app.register(healthRoutes(ctx));
  if (config.demo) await app.register(demoRoutes(ctx));
  cors.registerPreflights(app);
}
