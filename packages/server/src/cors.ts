import {
  CSRF_HEADER,
  DPOP_HEADER,
  DPOP_NONCE_HEADER,
  ENDPOINT_PATHS,
  METADATA_PATH,
} from "@prolong/protocol";
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { addRouteHook } from "./route-hooks.js";

/**
 * The endpoints a browser application on another origin calls (docs/protocol.md, CORS).
 * The admin API, the revocation feed, introspection and metrics are for servers, so they
 * answer no CORS at all and a browser never lets a page read them.
 */
export const BROWSER_PATHS: ReadonlySet<string> = new Set([
  // The client SDK discovers every other endpoint here first (RFC 8414 §3).
  METADATA_PATH,
  ENDPOINT_PATHS.login,
  ENDPOINT_PATHS.token,
  ENDPOINT_PATHS.revocation,
  "/logout",
  ENDPOINT_PATHS.sessions,
  `${ENDPOINT_PATHS.sessions}/:id`,
  "/password",
]);

/**
 * Everything a prolong client sends: JSON or form bodies, a bearer token, the anti-CSRF
 * header, a DPoP proof (RFC 9449 §4.1).
 */
const ALLOWED_HEADERS = `content-type, authorization, ${CSRF_HEADER}, ${DPOP_HEADER.toLowerCase()}`;
/**
 * What the client reads beyond the safelisted headers: back-off (429), bearer challenges
 * (401), the server's DPoP nonce (RFC 9449 §8.1).
 */
const EXPOSED_HEADERS = `retry-after, www-authenticate, ${DPOP_NONCE_HEADER.toLowerCase()}`;
/** Ten minutes of cached preflights; Chromium caps the cache at two hours anyway. */
const MAX_AGE_SECONDS = 600;

/**
 * CORS for the browser-facing endpoints (the CORS protocol of the Fetch standard): the
 * configured origins only, matched exactly after normalisation, with credentials so the
 * refresh cookie travels. Never `*`, which the Fetch standard forbids with credentials,
 * and never an echo of an origin that is not configured.
 */
export class Cors {
  readonly #origins: ReadonlySet<string>;
  readonly #prefix: string;
  readonly #methods = new Map<string, string[]>();

  /**
   * `origins` as configured; each is reduced to its serialised origin, as browsers send it.
   * `prefix` is where prolong's routes are mounted (`/auth` in a host app, `""` standalone).
   */
  constructor(origins: readonly string[], prefix = "") {
    this.#origins = new Set(origins.map((origin) => new URL(origin).origin));
    this.#prefix = prefix;
  }

  /** A route's path relative to prolong's mount point, as `BROWSER_PATHS` names it. */
  #browserPath(url: string | undefined): string | null {
    if (url === undefined || !url.startsWith(this.#prefix)) return null;
    const path = url.slice(this.#prefix.length);
    return BROWSER_PATHS.has(path) ? path : null;
  }

  /**
   * For `onRoute`: gives each browser-facing route the CORS headers (its own `onRequest`
   * hook, so other routes never pay for it) and remembers its methods, for preflights.
   */
  onRoute = (route: RouteOptions): void => {
    const path = this.#browserPath(route.url);
    if (path === null) return;
    addRouteHook(route, "onRequest", this.#setHeaders);
    if (route.method === "OPTIONS") return;
    const methods = this.#methods.get(path) ?? [];
    for (const method of [route.method].flat()) if (method !== "HEAD") methods.push(method);
    this.#methods.set(path, methods);
  };

  /** The CORS headers of a browser-facing route, set before any answer (errors too). */
  #setHeaders = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    // The answer depends on Origin even when it is refused, so shared caches must key on it.
    reply.header("vary", "Origin");
    if (this.#allows(request)) {
      reply
        .header("access-control-allow-origin", request.headers.origin)
        .header("access-control-allow-credentials", "true");
      if (request.method !== "OPTIONS") reply.header("access-control-expose-headers", EXPOSED_HEADERS);
    }
    done();
  };

  /**
   * Registers the preflight (OPTIONS) route of every browser-facing path seen so far, on
   * prolong's own instance (so under its prefix).
   */
  registerPreflights(app: FastifyInstance): void {
    for (const [path, methods] of this.#methods) {
      const allow = [...methods, "OPTIONS"].join(", ");
      app.options(path, async (request, reply) => {
        reply.header("allow", allow);
        if (this.#allows(request)) {
          reply
            .header("access-control-allow-methods", allow)
            .header("access-control-allow-headers", ALLOWED_HEADERS)
            .header("access-control-max-age", String(MAX_AGE_SECONDS));
        }
        return reply.code(204).send();
      });
    }
  }

  #allows(request: FastifyRequest): boolean {
    const origin = request.headers.origin;
    return origin !== undefined && this.#origins.has(origin);
  }
}
