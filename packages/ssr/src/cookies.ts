/**
 * Where a server-rendered app's code finds the request's cookies: the `Request` itself,
 * its `Headers`, the `Cookie` header as a string, or a framework's cookies object whose
 * `get(name)` gives the value (SvelteKit's `event.cookies`) or `{ value }` (Next.js's
 * `cookies()`).
 */
export type CookieSource =
  | Request
  | Headers
  | string
  | null
  | undefined
  | { get(name: string): string | { value: string } | undefined | null };

/** One cookie's value from a source, or `undefined` when it is not there or empty. */
export function cookieOf(source: CookieSource, name: string): string | undefined {
  if (source === null || source === undefined) return undefined;
  if (typeof source === "string") return parseCookieHeader(source).get(name) || undefined;
  if (source instanceof Request) return cookieOf(source.headers, name);
  if (source instanceof Headers) return cookieOf(source.get("cookie") ?? "", name);
  const found = source.get(name);
  const value = typeof found === "string" ? found : found?.value;
  return value || undefined;
}

/**
 * The `Cookie` header as name → value, first occurrence winning, as servers that read it
 * (and prolong's own routes) do (RFC 6265 §5.4 orders longer paths first).
 */
export function parseCookieHeader(header: string): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}

/** A `Set-Cookie` line read for what the next request will carry: its name, and its value or `null` if it deletes. */
function effectOf(line: string): { name: string; value: string | null } | null {
  const [pair = "", ...attributes] = line.split(";");
  const eq = pair.indexOf("=");
  if (eq <= 0) return null;
  const deletes = attributes.some((attribute) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(attribute));
  return { name: pair.slice(0, eq).trim(), value: deletes ? null : pair.slice(eq + 1).trim() };
}

/**
 * The `Cookie` header the browser will send once it has applied these `Set-Cookie` lines:
 * what the same request's render must see after a renewal, so that it reads the new access
 * token and not the one the browser sent.
 */
export function cookieHeaderAfter(header: string, setCookies: readonly string[]): string {
  const cookies = parseCookieHeader(header);
  for (const line of setCookies) {
    const effect = effectOf(line);
    if (!effect) continue;
    if (effect.value === null) cookies.delete(effect.name);
    else cookies.set(effect.name, effect.value);
  }
  return [...cookies].map(([name, value]) => `${name}=${value}`).join("; ");
}

/** Every `Set-Cookie` of a response, as separate lines (they may not be joined with commas). */
export function setCookiesOf(headers: Headers): string[] {
  const all = (headers as Headers & { getSetCookie?: () => string[] }).getSetCookie?.();
  if (all) return all;
  const one = headers.get("set-cookie");
  return one ? [one] : [];
}
