// `next/server.js` with its extension: Next has no exports map, and Node resolves ESM subpaths by file name.
import { type NextRequest, NextResponse } from "next/server.js";
import { unavailableAnswer, withCookieHeader, withSession } from "./responses.js";
import type { ServerSessions } from "./sessions.js";

export interface SessionMiddlewareOptions {
  /**
   * The answer to a request without a session (signed out, or its session just ended):
   * a redirect to the login page for a protected path, say. `undefined` renders the page
   * anyway; its server components then find no session.
   */
  signedOut?: (request: NextRequest) => Response | undefined | Promise<Response | undefined>;
}

/** A Next.js middleware function, as `middleware.ts` exports it. */
export type SessionMiddleware = (request: NextRequest) => Promise<Response>;

/**
 * Next.js middleware that renews the session before the render (`sessions.renew`): the
 * render sees the renewed access cookie through the rewritten `Cookie` request header
 * (`NextResponse.next({ request: { headers } })`), and the browser gets the new cookies
 * on the response, which is private when it sets cookies or was rendered for a session
 * ({@link withSession}). When a renewal was due and prolong could not answer, the
 * request gets a 503 rather than the signed-out answer. Runs on the Edge runtime (Next's default for middleware) as on Node;
 * there `sessions` reaches prolong over HTTP, its default `fetch`.
 *
 * ```ts
 * export const middleware = sessionMiddleware(createServerSessions({ issuer }), {
 *   signedOut: (request) => NextResponse.redirect(new URL("/login", request.url), 303),
 * });
 * ```
 */
export function sessionMiddleware(
  sessions: ServerSessions,
  options: SessionMiddlewareOptions = {},
): SessionMiddleware {
  return async (request) => {
    const renewal = await sessions.renew(request);
    if (renewal.session === null && renewal.unavailable) return unavailableAnswer();
    const refused = renewal.session === null ? await options.signedOut?.(request) : undefined;
    return withSession(refused ?? renderWith(request, renewal.requestCookie), renewal);
  };
}

/** Lets the request through to its render, with the `Cookie` header the renewal wrote if it wrote one. */
function renderWith(request: NextRequest, requestCookie: string | null): NextResponse {
  if (requestCookie === null) return NextResponse.next();
  return NextResponse.next({ request: { headers: withCookieHeader(request.headers, requestCookie) } });
}
