import type { Context, Next } from "hono";
import { authorize, type GuardOptions } from "../bearer.js";
import type { Verifier } from "../verifier.js";

/** Hono middleware: `c.get("auth")` holds the claims, or the challenge is the response. */
export function honoGuard(verifier: Verifier, options: GuardOptions = {}) {
  return async (c: Context, next: Next) => {
    const result = await authorize(
      verifier,
      {
        authorization: c.req.header("authorization"),
        tokenInQuery: c.req.query("access_token") !== undefined,
        // The body is a stream Hono has not read; reading it here would take it from the route.
        tokenInBody: false,
      },
      options,
    );
    if (!result.ok) {
      return c.json(result.challenge.body, result.challenge.status as 400, result.challenge.headers);
    }
    c.set("auth", result.claims);
    await next();
    for (const [name, value] of Object.entries(result.headers)) c.header(name, value);
  };
}
