/**
 * React Router 7 middleware (framework mode, `future.v8_middleware`) over
 * {@link ServerSessions.renew}: the session is renewed once per request, before any loader
 * or action runs, and put in a router context for them to read.
 *
 * ```ts
 * // app/routes/session-layout.tsx, a layout route every signed-in page sits under
 * export const middleware = [sessionMiddleware(sessions)];
 * // in a loader or action under it
 * const session = context.get(sessionContext); // ServerSession | null
 * ```
 */
import { createContext, type MiddlewareFunction, type RouterContext } from "react-router";
import { setCookiesOf } from "./cookies.js";
import { CACHE_CONTROL_PRIVATE, type ServerSession, type ServerSessions } from "./sessions.js";

/**
 * The request's session as the middleware left it: `null` when signed out. It has no
 * default, so a loader reading it outside the middleware throws instead of seeing a
 * signed-out user.
 */
export const sessionContext: RouterContext<ServerSession | null> = createContext<ServerSession | null>();

export interface SessionMiddlewareOptions {
  /** The context to put the session in; default {@link sessionContext}. */
  context?: RouterContext<ServerSession | null>;
}

/** A `Set-Cookie` line's cookie name. */
const nameOf = (line: string) => line.slice(0, line.indexOf("=")).trim();

/**
 * The response with the renewal's cookies: those the route set itself win (a sign-out's
 * clearing comes after a renewal in the same request), and any response carrying a
 * `Set-Cookie` is kept out of shared caches.
 */
function withCookies(response: Response, setCookies: readonly string[]): Response {
  const own = setCookiesOf(response.headers);
  const ownNames = new Set(own.map(nameOf));
  const added = setCookies.filter((line) => !ownNames.has(nameOf(line)));
  if (own.length === 0 && added.length === 0) return response;
  let target = response;
  try {
    for (const line of added) target.headers.append("set-cookie", line);
    target.headers.set("cache-control", CACHE_CONTROL_PRIVATE);
  } catch {
    // Immutable headers (`Response.redirect`, a fetched response): the same answer, copied.
    target = new Response(response.body, response);
    for (const line of added) target.headers.append("set-cookie", line);
    target.headers.set("cache-control", CACHE_CONTROL_PRIVATE);
  }
  return target;
}

/**
 * The middleware: renews the session (see {@link ServerSessions.renew}), gives the
 * request's loaders and actions the `Cookie` header the browser will send next (so a
 * sign-out in the same request revokes the new refresh token, not its predecessor), and
 * adds the new cookies to whatever response the route produced.
 */
export function sessionMiddleware(
  sessions: Pick<ServerSessions, "renew">,
  options: SessionMiddlewareOptions = {},
): MiddlewareFunction<Response> {
  const key = options.context ?? sessionContext;
  return async ({ request, context }, next) => {
    const { session, setCookies, requestCookie } = await sessions.renew(request);
    context.set(key, session);
    if (requestCookie !== null) setRequestCookie(request, requestCookie);
    return withCookies(await next(), setCookies);
  };
}

/**
 * Rewrites the request's `Cookie` header where the runtime allows it (Node's requests are
 * mutable). Where it does not, loaders still get the renewed session from the context.
 */
function setRequestCookie(request: Request, cookie: string): void {
  try {
    if (cookie === "") request.headers.delete("cookie");
    else request.headers.set("cookie", cookie);
  } catch {
    // Immutable request headers (some edge runtimes): the context carries the session.
  }
}
