import type { Context, Next } from "hono";
import { authorize, type GuardOptions } from "../bearer.js";
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

/** Hono middleware: `c.get("auth")` holds the claims, or the challenge is the response. */
export function honoGuard(verifier: Verifier, options: GuardOptions = {}) {
  return async (c: Context, next: Next) => {
    const result = await authorize(
      verifier,
      {
        authorization: c.req.header("authorization"),
        tokenInQuery: c.req.query("access_token") !== undefined,
        tokenInBody: await tokenInForm(c),
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
