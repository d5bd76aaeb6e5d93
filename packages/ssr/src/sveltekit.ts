/**
 * SvelteKit's `handle` over {@link ServerSessions.renew}: the session is renewed before
 * the route runs, so the first server render after an access token expired is still
 * signed in; the route finds it in `event.locals.session`, and the browser gets the new
 * cookies on the answer.
 *
 * ```ts
 * // src/hooks.server.ts
 * export const handle = sessionHandle({ sessions });
 * ```
 *
 * Only types are imported from `@sveltejs/kit`, so the package needs it at build time
 * only, as an optional peer.
 */
import type { Handle, RequestEvent } from "@sveltejs/kit";
import { unavailableAnswer, withCookieHeader, withSession } from "./responses.js";
import type { ServerSession, ServerSessions } from "./sessions.js";

export interface SessionHandleOptions {
  /** What renews: {@link createServerSessions}'s answer. */
  sessions: Pick<ServerSessions, "renew">;
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

/** The request with its Cookie header replaced (`null`: unchanged), without its body (see {@link renewedRequest}). */
function withCookie(request: Request, cookie: string | null): Request {
  if (cookie === null) return request;
  return new Request(request.url, {
    method: request.method,
    headers: withCookieHeader(request.headers, cookie),
  });
}

/**
 * The `handle` hook: renews the session from the request's cookies (never for prolong's
 * own routes, see {@link ServerSessions.renew}), puts it in `event.locals.session`,
 * resolves, and gives the answer the route's and the renewal's cookies, private when it
 * sets any or was rendered for a session ({@link withSession}). Combine with other hooks
 * through SvelteKit's `sequence`.
 */
export function sessionHandle(options: SessionHandleOptions): Handle {
  return async ({ event, resolve }) => {
    const locals = event.locals as Partial<SessionLocals>;
    const renewed = await options.sessions.renew(event.request);
    if (renewed.session === null && renewed.unavailable) return unavailableAnswer();
    locals.session = renewed.session;
    const state: RequestState = {
      request: withCookie(event.request, renewed.requestCookie),
      routeCookies: [],
    };
    states.set(event.locals, state);
    return withSession(await resolve(event), renewed, state.routeCookies);
  };
}
