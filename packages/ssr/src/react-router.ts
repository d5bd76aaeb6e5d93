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
import { unavailableAnswer, withSession } from "./responses.js";
import type { ServerSession, ServerSessions } from "./sessions.js";

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

/**
 * The middleware: renews the session (see {@link ServerSessions.renew}), gives the
 * request's loaders and actions the `Cookie` header the browser will send next (so a
 * sign-out in the same request revokes the new refresh token, not its predecessor), and
 * adds the new cookies to whatever response the route produced ({@link withSession}:
 * the route's own cookies win, and an answer for a session is private).
 */
export function sessionMiddleware(
  sessions: Pick<ServerSessions, "renew">,
  options: SessionMiddlewareOptions = {},
): MiddlewareFunction<Response> {
  const key = options.context ?? sessionContext;
  return async ({ request, context }, next) => {
    const renewal = await sessions.renew(request);
    if (renewal.session === null && renewal.unavailable) return unavailableAnswer();
    context.set(key, renewal.session);
    if (renewal.requestCookie !== null) setRequestCookie(request, renewal.requestCookie);
    return withSession(await next(), renewal);
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
