/**
 * The tokens' `iss`, where prolong's routes are served (app/auth/[...prolong]/route.ts).
 * Read by the middleware too, so this module imports nothing: the Edge runtime cannot load
 * @prolong/server. Each variable is named in full: Next gives Edge code only the ones it sees.
 */
export const issuer = process.env.PROLONG_ISSUER ?? `http://localhost:${process.env.PORT ?? 3000}/auth`;
