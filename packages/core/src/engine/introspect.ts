import { MAX_ACCESS_TOKEN_BYTES } from "@prolong/protocol";
import { seconds } from "../clock.js";
import type { RefreshToken } from "../refresh-token.js";
import { accessTokenStanding, standing } from "../session-rules.js";
import { lookUpByHint, sessionOfAccessToken } from "./access-token-session.js";
import type { EngineContext } from "./context.js";

/** RFC 7662 §2.2 answer. */
export type Introspection =
  | { active: false }
  | {
      active: true;
      token_type: "Bearer" | "DPoP" | "refresh_token";
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
      /** RFC 9449 §6.2: the key a bound token is bound to. */
      cnf?: { jkt: string };
    };

const inactive: Introspection = { active: false };

/**
 * RFC 7662 introspection of an access or refresh token. A token is active only while
 * its session is in good standing (session-rules.ts), as a refresh or a bearer route
 * would find it. Read-only: a superseded session is reported inactive, not revoked.
 */
export async function introspect(ctx: EngineContext, token: string, hint?: string): Promise<Introspection> {
  if (typeof token !== "string" || token.length > MAX_ACCESS_TOKEN_BYTES) return inactive;
  const answer = await lookUpByHint(
    hint,
    () => {
      const refresh = ctx.codec.open(token);
      return refresh ? introspectRefresh(ctx, refresh) : null;
    },
    () => introspectAccess(ctx, token),
  );
  return answer ?? inactive;
}

async function introspectAccess(ctx: EngineContext, token: string): Promise<Introspection> {
  const found = await sessionOfAccessToken(ctx, token);
  if (!found) return inactive;
  const { claims, session, subject } = found;
  if (accessTokenStanding(claims, session, subject, ctx.clock.now()) !== "good") return inactive;
  return {
    active: true,
    // RFC 9449 §6.2: a bound token is introspected as `DPoP`, with its `cnf`.
    token_type: claims.cnf ? "DPoP" : "Bearer",
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
    ...(claims.cnf ? { cnf: { jkt: claims.cnf.jkt } } : {}),
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
