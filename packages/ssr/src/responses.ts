import { setCookiesOf } from "./cookies.js";
import { CACHE_CONTROL_PRIVATE, type Renewal } from "./sessions.js";

/** A `Set-Cookie` line's cookie name. */
const nameOf = (line: string) => line.slice(0, line.indexOf("=")).trim();

/**
 * A route's answer as the browser must get it after a renewal: the renewal's `Set-Cookie`
 * lines added, but not over a cookie the route set itself (a login or a sign-out changes
 * the session the renewal renewed, so its cookies win), and `Cache-Control: private,
 * no-store` on an answer that sets a cookie or was rendered for a session, since a shared
 * cache that kept it would hand one user's cookies or page to the next (RFC 9111
 * §5.2.2.7, §5.2.2.5). `routeCookies` are cookies the route asked for where its framework
 * could not set them on the answer itself (SvelteKit's actions). A response whose headers
 * cannot change (`Response.redirect`, a fetched one) is copied.
 */
export function withSession(
  response: Response,
  renewal: Pick<Renewal, "session" | "setCookies">,
  routeCookies: readonly string[] = [],
): Response {
  const own = [...setCookiesOf(response.headers), ...routeCookies];
  const ownNames = new Set(own.map(nameOf));
  const added = [...routeCookies, ...renewal.setCookies.filter((line) => !ownNames.has(nameOf(line)))];
  if (own.length === 0 && added.length === 0 && renewal.session === null) return response;
  const apply = (target: Response) => {
    for (const line of added) target.headers.append("set-cookie", line);
    target.headers.set("cache-control", CACHE_CONTROL_PRIVATE);
    return target;
  };
  try {
    return apply(response);
  } catch {
    return apply(new Response(response.body, response));
  }
}

/** Headers with the `Cookie` header replaced, or removed when no cookie is left (`""`). */
export function withCookieHeader(headers: Headers, cookie: string): Headers {
  const copy = new Headers(headers);
  if (cookie === "") copy.delete("cookie");
  else copy.set("cookie", cookie);
  return copy;
}

/**
 * The answer when a renewal was due, prolong could not give it and no valid token is left
 * (`Renewal.unavailable` without a session): 503 with `Retry-After`, rather than the
 * signed-out page or a redirect to the login form, which would tell a user who is still
 * signed in that they are not. Their cookies are untouched; the next request renews.
 */
export function unavailableAnswer(): Response {
  return new Response("Sign-in is unavailable for a moment; try again shortly.\n", {
    status: 503,
    headers: { "content-type": "text/plain; charset=utf-8", "retry-after": "5", "cache-control": "no-store" },
  });
}
