import type { Context, Next } from "koa";
import { authorize, carriesToken, type GuardOptions } from "../bearer.js";
import type { Verifier } from "../verifier.js";

/** Koa middleware: sets `ctx.state.auth`, or answers with the challenge. */
export function koaGuard(verifier: Verifier, options: GuardOptions = {}) {
  return async (ctx: Context, next: Next) => {
    const result = await authorize(
      verifier,
      {
        authorization: ctx.get("authorization") || undefined,
        tokenInQuery: carriesToken(ctx.query),
        tokenInBody: carriesToken((ctx.request as { body?: unknown }).body),
      },
      options,
    );
    if (!result.ok) {
      ctx.status = result.challenge.status;
      ctx.set(result.challenge.headers);
      ctx.body = result.challenge.body;
      return;
    }
    ctx.set(result.headers);
    ctx.state.auth = result.claims;
    await next();
  };
}
