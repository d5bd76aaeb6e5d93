/**
 * The web profile's refresh cookie (docs/protocol.md, "Web profile: the refresh cookie"):
 * `HttpOnly; Secure; SameSite=Strict`. The `__Secure-` prefix makes browsers refuse it
 * without `Secure` (RFC 6265bis §4.1.3.1).
 */
export const REFRESH_COOKIE = "__Secure-prolong-rt";

/**
 * The cookie's `Path`, relative to the issuer's path: it reaches the token and revocation
 * endpoints and nothing else. An issuer `https://app.example.com/auth` (prolong mounted
 * under `/auth`) sets `Path=/auth/oauth`.
 */
export const REFRESH_COOKIE_PATH = "/oauth";

/**
 * Server-rendered apps (docs/ssr.md): the access token in an httpOnly cookie every page
 * request carries, so the server's first render knows the session. `__Host-` binds it to
 * the exact origin and `Path=/` (RFC 6265bis §4.1.3.2): no subdomain can set or shadow it.
 */
export const ACCESS_COOKIE = "__Host-prolong-at";

/**
 * The refresh cookie of a server-rendered app: on `Path=/` so the app's middleware can
 * renew before a render, hence `__Host-` rather than {@link REFRESH_COOKIE}.
 */
export const SSR_REFRESH_COOKIE = "__Host-prolong-rt";

/**
 * The anti-CSRF header every cookie-authenticated request carries (docs/protocol.md): a
 * cross-site form cannot set it, and a script setting it needs a CORS preflight.
 * Lowercase, as Node and HTTP/2 spell header names (RFC 9110 §5.1: case-insensitive).
 */
export const CSRF_HEADER = "prolong-csrf";

/** The value of {@link CSRF_HEADER}. */
export const CSRF_VALUE = "1";
