import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  ProlongError,
  type RateLimitStore,
  type SessionEngine,
  type SteppedUp,
  type StepUpInput,
  type Store,
} from "@prolong/core";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import { pino } from "pino";
import { buildApp, type LogBindings, logBase, mountProlong, type ProlongRoutesOptions } from "./app.js";
import { trustProxyOption } from "./client-address.js";
import { type ProlongSettings, resolveConfig, type ServerConfig } from "./config.js";
import { type ConnectHandler, connectHandler, replayParsedBody } from "./connect-handler.js";
import { sessionBinding } from "./dbsc/session-binding.js";
import { type FetchOptions, fetchHandler } from "./fetch-handler.js";
import { type EngineExtras, type ServerCore, serverCore } from "./server-core.js";
import { sessionCookies } from "./session-cookies.js";
import {
  type FetchSession,
  type FetchSessionInput,
  type HostResponse,
  type StartSessionInput,
  startFetchSession,
  startSessionOn,
} from "./start-session.js";
import { openStore } from "./store.js";
import type { TokenResponseBody } from "./token-response.js";

export type { EngineExtras, ServerCore } from "./server-core.js";
// Where the CLI has always found them.
export { engineFor, resourceSecretOf, serverCore } from "./server-core.js";

/** The built demo page ships inside the package, next to `dist/`. */
export const defaultPublicDir = fileURLToPath(new URL("../public/", import.meta.url));

/**
 * How often the key ring is re-read, so a rotation by the CLI or another instance takes
 * effect within seconds (`publishAheadOf` allows for it).
 */
export const KEY_RELOAD_MS = 2_000;

/** How often long-ended sessions, old events and expired handoffs are deleted. */
const PURGE_MS = 3_600_000;

export interface ProlongOptions {
  /**
   * A store to use instead of opening the `store` setting's (give one or the other). The
   * caller keeps it: `close()` leaves it open.
   */
  store?: Store;
  /** A claims hook, a clock, password cost… (see {@link EngineExtras}). */
  engine?: EngineExtras;
  /** Where JSON log lines of prolong's own Fastify instances and background tasks go; default stdout. */
  logStream?: { write(line: string): void };
  /** Fields every one of those log lines carries, e.g. a worker's `{ worker: 2 }`. */
  logBindings?: LogBindings;
  /** Where rate-limit counters live; default the store's, shared by every instance on it. */
  rateLimitStore?: RateLimitStore;
}

/** prolong, built from one validated configuration, ready to serve or to mount. */
export interface Prolong {
  readonly engine: SessionEngine;
  /** The configuration as validated, defaults filled in. */
  readonly config: ServerConfig;
  /**
   * A Fastify plugin serving prolong's routes in the host's Fastify instance, under the
   * issuer's path: `app.register(prolong.fastifyPlugin, { prefix: "/auth" })` for the
   * issuer `https://app.example.com/auth`. Encapsulated: prolong's hooks, parsers and
   * error handling apply to its own routes only.
   */
  readonly fastifyPlugin: FastifyPluginAsync;
  /**
   * A handler serving prolong's routes in an Express or Connect app, mounted at the
   * issuer's path: `app.use("/auth", prolong.expressHandler())`; Express's `app.use` at
   * another path throws `invalid_config`. Works behind `express.json()` and
   * `express.urlencoded()` too.
   */
  expressHandler(): ConnectHandler;
  /**
   * For the host's login route, once it has authenticated the user: starts a session
   * and returns the token answer's body. A web client's refresh cookie is set on
   * `response` (a Fastify reply or a Node/Express response); a native client's refresh
   * token is in the body.
   */
  startSession(response: HostResponse, input: StartSessionInput): Promise<TokenResponseBody>;
  /**
   * prolong's routes for a Fetch-API host (Next.js route handlers, SvelteKit endpoints,
   * React Router resource routes, Hono, Bun, Deno), served from the Express handler's
   * instance: give it each `Request` for the issuer's path or below, URL unchanged, and
   * answer with the `Response`. Runs on Node (or Bun, Deno), not on edge runtimes. A
   * request outside the issuer's path is an `invalid_config` error.
   */
  fetch(request: Request, options?: FetchOptions): Promise<Response>;
  /**
   * {@link startSession} for a Fetch-API host's login route: the token answer's body and
   * the headers to send it with (`Cache-Control: no-store`, a web client's refresh
   * cookie), for `Response.json(body, { headers })`.
   */
  startFetchSession(request: Request, input: FetchSessionInput): Promise<FetchSession>;
  /**
   * Step-up (RFC 9470, docs/session-policies.md): once the host has re-authenticated the
   * user of session `sessionId` (the `sid` of the access token its route verified), the
   * same session goes on with `auth_time` now and the given `acr`/`amr`, which the client's
   * next refresh brings into its tokens. Answers only the new `authTime` (seconds); on
   * any host, Node or Fetch-API. A session that ended is `not_found`.
   */
  stepUp(sessionId: string, input?: StepUpInput): Promise<SteppedUp>;
  /**
   * The standalone server: prolong's routes at the root of a Fastify instance of their
   * own, with the configured logging, proxy trust and body limit (what `prolong serve`
   * listens with on `port` and `host`). Nothing listens until the caller says so.
   */
  buildServer(): Promise<FastifyInstance>;
  /** Stops the background tasks, closes the Express and Fetch handlers' instance and the store prolong opened. */
  close(): Promise<void>;
}

/** The issuer's path, without a trailing slash: where prolong's routes live in a host app. */
function issuerPath(issuer: string): string {
  return new URL(issuer).pathname.replace(/\/+$/, "");
}

/**
 * Builds prolong from settings, validated exactly as `prolong serve` validates its
 * configuration file (an unknown or out-of-range setting throws `invalid_config` naming
 * it): opens the store (or takes `options.store`), builds the engine, and returns the
 * ways to serve it. Key reloads (every 2 s) and the hourly purge run until `close()`.
 *
 * ```ts
 * const prolong = await createProlong({ issuer: "https://app.example.com/auth", store: "sqlite:./data/prolong.db" });
 * await app.register(prolong.fastifyPlugin, { prefix: "/auth" });
 * ```
 */
export async function createProlong(
  settings: ProlongSettings,
  options: ProlongOptions = {},
): Promise<Prolong> {
  if (options.store && Object.hasOwn(settings, "store")) {
    throw new ProlongError("invalid_config", "store: given as a setting and as a Store; give one of them");
  }
  return prolongFor(resolveConfig(settings as Record<string, unknown>), options);
}

/**
 * prolong from a configuration already resolved (`prolong serve` resolves its own from
 * the file, the environment and the flags): what {@link createProlong} does after validating.
 */
export async function prolongFor(config: ServerConfig, options: ProlongOptions = {}): Promise<Prolong> {
  const store = options.store ?? (await openStore(config.store));
  const closeStore = options.store ? async () => {} : () => store.close();
  let core: ServerCore;
  try {
    core = await serverCore(config, store, options.engine);
  } catch (error) {
    await closeStore();
    throw error;
  }
  const { engine } = core;

  const log = pino(
    { level: config.logLevel, ...logBase(options.logBindings) },
    options.logStream ?? process.stdout,
  );
  // Rotations by the CLI or another instance are picked up within seconds: a reload is
  // one query, keys already imported are not imported again.
  const keyReload = setInterval(() => {
    engine.keys.reload().catch((err: unknown) => log.error({ err }, "key reload failed"));
  }, KEY_RELOAD_MS);
  const purge = setInterval(() => {
    engine.purge().catch((err: unknown) => log.error({ err }, "purge failed"));
  }, PURGE_MS);
  keyReload.unref();
  purge.unref();

  const routes: ProlongRoutesOptions = {
    ...core,
    ...(options.rateLimitStore ? { rateLimitStore: options.rateLimitStore } : {}),
    config,
    publicDir: config.demo && existsSync(defaultPublicDir) ? defaultPublicDir : null,
  };
  const appOptions = {
    ...routes,
    ...(options.logStream ? { logStream: options.logStream } : {}),
    ...(options.logBindings ? { logBindings: options.logBindings } : {}),
  };
  const mountPath = issuerPath(config.issuer);
  const cookies = sessionCookies(config.issuer, config.cookies);
  const binding = await sessionBinding(engine, config.issuer);

  const fastifyPlugin: FastifyPluginAsync = async (host) => {
    // The metadata, the cookie's path and every token's `iss` name the issuer: routes
    // served anywhere else would not be where they say.
    if (host.prefix !== mountPath) {
      throw new ProlongError(
        "invalid_config",
        `prolong is registered at "${host.prefix || "/"}" but its issuer ${config.issuer} has the path "${mountPath || "/"}": register it with { prefix: "${mountPath}" }, or make the issuer the host's URL plus the prefix`,
      );
    }
    // The host's Fastify decides `request.ip` for every route it serves.
    if (trustProxyOption(config.trustProxy) !== false) {
      throw new ProlongError(
        "invalid_config",
        "trustProxy: inside a host's Fastify its own trustProxy decides client addresses; set it there (Fastify({ trustProxy })) and leave prolong's unset",
      );
    }
    await host.register(async (scope) => mountProlong(scope, routes), { logLevel: config.logLevel });
  };

  // One instance serves the Express and the Fetch handler, built on first use; a
  // request the Fetch handler dispatches has its body unread, so the replay leaves it be.
  let hostedApp: Promise<FastifyInstance> | null = null;
  const hostedInstance = () => {
    hostedApp ??= buildApp({ ...appOptions, prefix: mountPath, preParsing: replayParsedBody });
    return hostedApp;
  };

  let closed: Promise<void> | null = null;
  return {
    engine,
    config,
    fastifyPlugin,
    expressHandler() {
      if (mountPath === "") {
        throw new ProlongError(
          "invalid_config",
          `issuer: ${config.issuer} has no path, so prolong would answer every path of the Express app; give it the path you mount prolong at (https://app.example.com/auth for app.use("/auth", …))`,
        );
      }
      return connectHandler(mountPath, hostedInstance);
    },
    fetch: fetchHandler(mountPath, hostedInstance),
    startSession: (response, input) => startSessionOn(engine, cookies, binding, response, input),
    startFetchSession: (request, input) => startFetchSession(engine, cookies, binding, request, input),
    stepUp: (sessionId, input) => engine.stepUp(sessionId, input),
    buildServer: () => buildApp(appOptions),
    close() {
      closed ??= (async () => {
        clearInterval(keyReload);
        clearInterval(purge);
        if (hostedApp) await (await hostedApp).close();
        await closeStore();
      })();
      return closed;
    },
  };
}
