/**
 * SvelteKit's `handle` over {@link ServerSessions.renew}: the session is renewed before
 * the route runs, so the first server render after an access token expired is still
 * signed in; the route finds it in `event.locals.session`, and the browser gets the new
 * cookies on the answer.
 *
 * ```ts
 * // src/hooks.server.ts
 * export const handle = sessionHandle({ sessions, skip: (event) => event.url.pathname.startsWith("/auth/") });
 * ```
 *
 * Only types are imported from `@sveltejs/kit`, so the package needs it at build time
 * only, as an optional peer.
 */
import type { Handle, RequestEvent } from "@sveltejs/kit";
import { CACHE_CONTROL_PRIVATE, type ServerSession, type ServerSessions } from "./index.js";

export interface SessionHandleOptions {
  /** What renews: {@link createServerSessions}'s answer. */
  sessions: Pick<ServerSessions, "renew">;
  /**
   * Requests resolved without renewing: prolong's own routes when the app serves them
   * (the token endpoint rotates the refresh cookie itself; renewing in front of it would
   * rotate it twice). `event.locals.session` is `null` for them.
   */
  skip?: (event: RequestEvent) => boolean;
}

/** What a route may read in `event.locals` (declare it in the app's `App.Locals`). */
export interface SessionLocals {
  session: ServerSession | null;
}

/** Per request, keyed by its `locals` (the one object every load, action and endpoint shares). */
interface RequestState {
  /** The Cookie header the route must see: the request's, or the renewed cookies'. */
  request: Request;
  /** Set-Cookie values a route added (a login, a sign-out): they supersede the renewal's. */
  routeCookies: string[];
}

const states = new WeakMap<object, RequestState>();

function stateOf(event: Pick<RequestEvent, "locals">, use: string): RequestState {
  const state = states.get(event.locals);
  if (!state)
    throw new Error(`${use}: the request did not go through sessionHandle; add it to hooks.server.ts`);
  return state;
}

/**
 * Sends these `Set-Cookie` values with the route's answer, redirects included (SvelteKit's
 * `setHeaders` refuses `set-cookie`): the headers of `startFetchSession` in a login
 * action, the `setCookies` of `signOut`. They replace whatever the renewal of this
 * request set, since they change the session it renewed.
 */
export function setCookies(event: Pick<RequestEvent, "locals">, values: Iterable<string>): void {
  stateOf(event, "setCookies").routeCookies.push(...values);
}

/**
 * The request as the route must pass it on, with the renewed cookies when this request
 * renewed (SvelteKit's `event.request` keeps the browser's): for `sessions.signOut`, which
 * must revoke the refresh token the browser now holds, not its predecessor.
 */
export function renewedRequest(event: Pick<RequestEvent, "locals">): Request {
  return stateOf(event, "renewedRequest").request;
}

/**
 * The request with its Cookie header replaced (`null`: unchanged). Without its body: the
 * route has read that already, and what the copy is for (signing out) needs the cookies only.
 */
function withCookie(request: Request, cookie: string | null): Request {
  if (cookie === null) return request;
  const headers = new Headers(request.headers);
  if (cookie === "") headers.delete("cookie");
  else headers.set("cookie", cookie);
  return new Request(request.url, { method: request.method, headers });
}

/** `response` with these headers added; a copy when its headers are immutable (a `fetch()` answer's). */
function withHeaders(response: Response, cookies: readonly string[]): Response {
  const add = (target: Response) => {
    for (const value of cookies) target.headers.append("set-cookie", value);
    target.headers.set("cache-control", CACHE_CONTROL_PRIVATE);
    return target;
  };
  try {
    return add(response);
  } catch {
    return add(new Response(response.body, response));
  }
}

/**
 * The `handle` hook: renews the session from the request's cookies, puts it in
 * `event.locals.session`, resolves, and adds the renewal's (or the route's) Set-Cookie
 * values to the answer. An answer that sets cookies or was rendered for a session is
 * marked `Cache-Control: private, no-store`: it belongs to one browser, and a shared cache
 * that stored it would hand one user's cookies or page to the next (RFC 9111 §5.2.2.3,
 * §5.2.2.7). Combine with other hooks through SvelteKit's `sequence`.
 */
export function sessionHandle(options: SessionHandleOptions): Handle {
  return async ({ event, resolve }) => {
    const locals = event.locals as Partial<SessionLocals>;
    if (options.skip?.(event)) {
      locals.session = null;
      return resolve(event);
    }
    const renewed = await options.sessions.renew(event.request);
    locals.session = renewed.session;
    const state: RequestState = {
      request: withCookie(event.request, renewed.requestCookie),
      routeCookies: [],
    };
    states.set(event.locals, state);
    const response = await resolve(event);
    const cookies = state.routeCookies.length > 0 ? state.routeCookies : renewed.setCookies;
    if (cookies.length === 0 && renewed.session === null) return response;
    return withHeaders(response, cookies);
  };
}
