import type { Context, Next } from "koa";
import { authorize, type GuardOptions } from "../bearer.js";
import type { Verifier } from "../verifier.js";

const hasToken = (value: unknown) => typeof value === "object" && value !== null && "access_token" in value;

/** Koa middleware: sets `ctx.state.auth`, or answers with the challenge. */
export function koaGuard(verifier: Verifier, options: GuardOptions = {}) {
  return async (ctx: Context, next: Next) => {
    const result = await authorize(
      verifier,
      {
        authorization: ctx.get("authorization") || undefined,
        tokenInQuery: hasToken(ctx.query),
        tokenInBody: hasToken((ctx.request as { body?: unknown }).body),
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
