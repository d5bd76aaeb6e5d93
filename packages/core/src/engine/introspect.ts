import type { AccessTokenClaims } from "@prolong/protocol";
import { MAX_ACCESS_TOKEN_BYTES } from "../access-token.js";
import { seconds } from "../clock.js";
import { isProlongError } from "../errors.js";
import type { RefreshToken } from "../refresh-token.js";
import { standing } from "../session-rules.js";
import type { EngineContext } from "./context.js";

/** RFC 7662 §2.2 answer. */
export type Introspection =
  | { active: false }
  | {
      active: true;
      token_type: "Bearer" | "refresh_token";
      sub: string;
      sid: string;
      client_id: string;
      iss: string;
      aud?: string | string[];
      exp?: number;
      iat?: number;
      jti?: string;
      auth_time: number;
      ver?: number;
    };

const inactive: Introspection = { active: false };

/**
 * RFC 7662 introspection of an access or refresh token. A token is active only while
 * its session is in good standing (session-rules.ts), as a refresh or a bearer route
 * would find it. Read-only: a superseded session is reported inactive, not revoked.
 */
export async function introspect(ctx: EngineContext, token: string, hint?: string): Promise<Introspection> {
  if (typeof token !== "string" || token.length > MAX_ACCESS_TOKEN_BYTES) return inactive;
  if (hint !== "access_token") {
    const refresh = ctx.codec.open(token);
    if (refresh) return introspectRefresh(ctx, refresh);
  }
  let claims: AccessTokenClaims;
  try {
    claims = await ctx.checkToken(token);
  } catch (error) {
    if (!isProlongError(error)) throw error;
    // §2.1: the hint only orders the look-ups.
    const refresh = hint === "access_token" ? ctx.codec.open(token) : null;
    return refresh ? introspectRefresh(ctx, refresh) : inactive;
  }
  const found = await ctx.store.sessions.readSession(claims.sid);
  if (
    !found ||
    found.session.subjectId !== claims.sub ||
    standing(found.session, found.subject, ctx.clock.now()) !== "good" ||
    claims.ver < found.subject.tokenVersion
  ) {
    return inactive;
  }
  return {
    active: true,
    token_type: "Bearer",
    sub: claims.sub,
    sid: claims.sid,
    client_id: claims.client_id,
    iss: claims.iss,
    aud: claims.aud,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    auth_time: claims.auth_time,
    ver: claims.ver,
  };
}

async function introspectRefresh(ctx: EngineContext, token: RefreshToken): Promise<Introspection> {
  const found = await ctx.store.sessions.readSession(token.sessionId);
  if (!found) return inactive;
  const { session, subject } = found;
  // Only the current token is active: a rotated one is history, even inside the grace window.
  if (token.generation !== session.generation || token.hash !== session.currentHash) return inactive;
  if (standing(session, subject, ctx.clock.now()) !== "good") return inactive;
  return {
    active: true,
    token_type: "refresh_token",
    sub: session.subjectId,
    sid: session.id,
    client_id: session.clientId,
    iss: ctx.issuer,
    ...(session.absoluteExpiresAt === null ? {} : { exp: seconds(session.absoluteExpiresAt) }),
    auth_time: seconds(session.authTime),
  };
}
