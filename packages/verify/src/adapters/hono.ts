import type { Context, Next } from "hono";
import { addressedUrl, authorize, checkGuardOptions, type GuardOptions } from "../bearer.js";
import type { Verifier } from "../verifier.js";

const FORM = "application/x-www-form-urlencoded";

/**
 * RFC 6750 §2.2 only defines a body token for form-encoded bodies. Hono caches what
 * `parseBody` read, so looking here does not take the body away from the route.
 */
async function tokenInForm(c: Context): Promise<boolean> {
  if (!c.req.header("content-type")?.toLowerCase().startsWith(FORM)) return false;
  const body = await c.req.parseBody();
  return "access_token" in body;
}

/** The path and query of an absolute URL, as received. */
function pathAndQuery(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

/**
 * Hono middleware: `c.get("auth")` holds the claims, or the challenge is the response.
 * A DPoP proof is checked against the request's URL as the runtime gives it (Hono has no
 * proxy rule of its own); behind a proxy, give `publicOrigin`.
 */
export function honoGuard(verifier: Verifier, options: GuardOptions = {}) {
  checkGuardOptions(options);
  return async (c: Context, next: Next) => {
    const result = await authorize(
      verifier,
      {
        authorization: c.req.header("authorization"),
        tokenInQuery: c.req.query("access_token") !== undefined,
        tokenInBody: await tokenInForm(c),
        dpop: c.req.raw.headers.get("dpop") ?? undefined,
        method: c.req.method,
        url:
          options.publicOrigin === undefined
            ? c.req.url
            : addressedUrl(options, pathAndQuery(c.req.url), () => c.req.url),
      },
      options,
    );
    if (!result.ok) {
      return c.json(result.challenge.body, result.challenge.status as 400, result.challenge.headers);
    }
    c.set("auth", result.claims);
    await next();
    // After the route, so the header lands on whatever response it built.
    for (const [name, value] of Object.entries(result.headers)) c.header(name, value);
  };
}
