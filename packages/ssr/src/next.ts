// `next/server.js` with its extension: Next has no exports map, and Node resolves ESM subpaths by file name.
import { type NextRequest, NextResponse } from "next/server.js";
import { CACHE_CONTROL_PRIVATE, type ServerSessions } from "./sessions.js";

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
 * on the response. Runs on the Edge runtime (Next's default for middleware) as on Node;
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
    const { session, setCookies, requestCookie } = await sessions.renew(request);
    const refused = session === null ? await options.signedOut?.(request) : undefined;
    return withSessionCookies(refused ?? renderWith(request, requestCookie), setCookies);
  };
}

/** Lets the request through to its render, with the `Cookie` header the renewal wrote if it wrote one. */
function renderWith(request: NextRequest, requestCookie: string | null): NextResponse {
  if (requestCookie === null) return NextResponse.next();
  const headers = new Headers(request.headers);
  if (requestCookie === "") headers.delete("cookie");
  else headers.set("cookie", requestCookie);
  return NextResponse.next({ request: { headers } });
}

/**
 * The response with the session's `Set-Cookie` lines and, when there are any,
 * `Cache-Control: private, no-store`, so no shared cache keeps one user's cookies for
 * another (RFC 9111 §5.2.2.7, §5.2.2.5). A response with immutable headers (`Response.redirect`)
 * is copied first.
 */
export function withSessionCookies(response: Response, setCookies: readonly string[]): Response {
  if (setCookies.length === 0) return response;
  let target = response;
  try {
    target.headers.append("set-cookie", setCookies[0] as string);
  } catch {
    target = new Response(response.body, response);
    target.headers.append("set-cookie", setCookies[0] as string);
  }
  for (const cookie of setCookies.slice(1)) target.headers.append("set-cookie", cookie);
  target.headers.set("cache-control", CACHE_CONTROL_PRIVATE);
  return target;
}
