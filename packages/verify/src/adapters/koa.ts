import type { Context, Next } from "koa";
import { addressedUrl, authorize, carriesToken, checkGuardOptions, type GuardOptions } from "../bearer.js";
import type { Verifier } from "../verifier.js";

/**
 * Koa middleware: sets `ctx.state.auth`, or answers with the challenge. A DPoP proof is
 * checked against `ctx.protocol` and `ctx.host`, which follow the app's `proxy` setting,
 * and `ctx.originalUrl`; or against `publicOrigin` when given. (Not `ctx.origin`: since
 * Koa 3 that is the request's `Origin` header.)
 */
export function koaGuard(verifier: Verifier, options: GuardOptions = {}) {
  checkGuardOptions(options);
  return async (ctx: Context, next: Next) => {
    const result = await authorize(
      verifier,
      {
        authorization: ctx.get("authorization") || undefined,
        tokenInQuery: carriesToken(ctx.query),
        tokenInBody: carriesToken((ctx.request as { body?: unknown }).body),
        dpop: ctx.req.headers.dpop,
        method: ctx.method,
        url: addressedUrl(options, ctx.originalUrl, () => `${ctx.protocol}://${ctx.host}${ctx.originalUrl}`),
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
