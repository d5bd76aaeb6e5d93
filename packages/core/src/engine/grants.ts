import { type AccessTokenClaims, RESERVED_CLAIMS } from "@prolong/protocol";
import { signAccessToken } from "../access-token.js";
import { seconds } from "../clock.js";
import type { Profile } from "../policy.js";
import { randomId } from "../random.js";
import { accessTokenExpiry } from "../session-rules.js";
import type { SessionRecord, SubjectRecord } from "../store/index.js";
import { checkAccessTokenSize } from "../subject-claims.js";
import type { EngineContext } from "./context.js";

/** An access token for a session, and what its host needs to answer with it. */
export interface AccessGrant {
  accessToken: string;
  /** `DPoP` when the token is bound to a key (its `cnf.jkt`, RFC 9449 §5), else `Bearer`. */
  tokenType: "Bearer" | "DPoP";
  /** Seconds until the access token expires. */
  expiresIn: number;
  sessionId: string;
  claims: AccessTokenClaims;
  /** The session as stored after this grant. */
  session: SessionRecord;
  profile: Profile;
}

/** What sign-in and refresh hand out: an access token and the session's refresh token. */
export interface IssuedTokens extends AccessGrant {
  refreshToken: string;
  /**
   * True when a refresh presented the previous token inside the grace window (P5) and
   * got the same successor again: no new rotation happened, so rate limits skip it.
   */
  replayed: boolean;
}

/**
 * What a refresh hands a straggler (docs/protocol.md, "Rotation: replays and
 * stragglers"): an access token, and no refresh token (RFC 6749 §6 lets the server
 * omit it; the client keeps the newer one it holds). Told apart by `refreshToken: null`.
 */
export interface OvertakenTokens extends AccessGrant {
  refreshToken: null;
  replayed: false;
}

/** What a refresh hands out: the session's refresh token with an access token, or a straggler's answer. */
export type RefreshedTokens = IssuedTokens | OvertakenTokens;

/** What the stateless exchange (P10) hands out: an access token alone. */
export type ExchangedToken = AccessGrant;

/**
 * Signs a fresh access token (RFC 9068) for a session in good standing; with `jkt`, the
 * RFC 7638 thumbprint of the DPoP key the request proved, bound to that key (`cnf.jkt`,
 * RFC 9449 §6.1).
 */
export async function grantAccess(
  ctx: EngineContext,
  subject: SubjectRecord,
  session: SessionRecord,
  profile: Profile,
  jkt: string | null = null,
): Promise<AccessGrant> {
  const iat = seconds(ctx.clock.now());
  const exp = accessTokenExpiry(session, iat, profile.accessTokenTtl);
  const custom = await ctx.claims({ subject, session });
  // The registered claims as one literal, the application's added after: built the other
  // way round (a spread of filtered entries) the object took a slow path in V8 whenever
  // there was any claim to add, and signing it cost ~7 µs more per token.
  const claims: AccessTokenClaims = {
    iss: ctx.issuer,
    sub: subject.id,
    aud: ctx.audience,
    exp,
    iat,
    jti: randomId(ctx.random),
    client_id: session.clientId,
    sid: session.id,
    ver: subject.tokenVersion,
    auth_time: seconds(session.authTime),
    rfa: iat + Math.floor((exp - iat) * profile.refreshAfterRatio),
  };
  if (jkt !== null) claims.cnf = { jkt };
  // RFC 9068 §2.2.1 (acr, amr) and RFC 8693 §4.1 (act): only when the session has them,
  // so a token of a plain sign-in is as small as before.
  if (session.acr !== null) claims.acr = session.acr;
  if (session.amr !== null) claims.amr = session.amr;
  if (session.actor !== null) claims.act = { sub: session.actor };
  if (custom) {
    for (const name in custom) {
      if (!Object.hasOwn(custom, name) || RESERVED_CLAIMS.has(name)) continue;
      // Defined, not assigned, so a claim named "__proto__" stays a claim.
      Object.defineProperty(claims, name, {
        value: custom[name],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return {
    accessToken: checkAccessTokenSize(signAccessToken(ctx.keys.active, claims)),
    tokenType: jkt === null ? "Bearer" : "DPoP",
    expiresIn: exp - iat,
    sessionId: session.id,
    claims,
    session,
    profile,
  };
}

/**
 * A grant with the session's refresh token, as sign-in and refresh hand it out, or with
 * none (`null`) for a straggler. One literal: a spread of the grant plus two fields took
 * V8's slow path (~1 µs a token).
 */
export function withRefreshToken(grant: AccessGrant, refreshToken: string, replayed: boolean): IssuedTokens;
export function withRefreshToken(grant: AccessGrant, refreshToken: null, replayed: false): OvertakenTokens;
export function withRefreshToken(
  grant: AccessGrant,
  refreshToken: string | null,
  replayed: boolean,
): RefreshedTokens {
  return {
    accessToken: grant.accessToken,
    tokenType: grant.tokenType,
    expiresIn: grant.expiresIn,
    sessionId: grant.sessionId,
    claims: grant.claims,
    session: grant.session,
    profile: grant.profile,
    refreshToken,
    replayed,
  } as RefreshedTokens;
}
