import { type RefreshedTokens, type RefreshTransport, sessionEndsAt } from "@prolong/core";
import type { FastifyReply } from "fastify";
import type { SessionCookies } from "./session-cookies.js";

/** The body of a successful token answer (RFC 6749 §5.1), as prolong sends it. */
export interface TokenResponseBody {
  access_token: string;
  /** `DPoP` when the access token is bound to the key of the request's proof (RFC 9449 §5). */
  token_type: "Bearer" | "DPoP";
  /** Seconds until the access token expires. */
  expires_in: number;
  session_id: string;
  /**
   * Only for clients whose refresh token travels in the body (native); web ones get a
   * cookie. Left out for a straggler (docs/protocol.md, "Rotation: replays and
   * stragglers"): the client keeps the refresh token it holds (RFC 6749 §6).
   */
  refresh_token?: string;
  /**
   * Only in a native client's answer to `POST /login`: its proof of this sign-in, to send
   * back as `device_token` at the next one (docs/security.md, "Device tokens"). Browsers
   * get it in an httpOnly cookie.
   */
  device_token?: string;
}

/**
 * A token answer split into its body and, for the web profile, its cookies: the refresh
 * token is in the body or a cookie, never both (docs/protocol.md, web profile), and in
 * neither for a straggler, so a browser keeps the newer cookie it was given. With the
 * access cookie on (docs/ssr.md) a web answer sets that one too.
 */
export function tokenResponse(
  tokens: RefreshedTokens,
  options: { now: number; cookies: SessionCookies; transport?: RefreshTransport },
): { body: TokenResponseBody; cookies: string[] } {
  const body: TokenResponseBody = {
    access_token: tokens.accessToken,
    token_type: tokens.tokenType,
    expires_in: tokens.expiresIn,
    session_id: tokens.sessionId,
  };
  if ((options.transport ?? tokens.profile.refreshTransport) === "body") {
    if (tokens.refreshToken !== null) body.refresh_token = tokens.refreshToken;
    return { body, cookies: [] };
  }
  const cookies = options.cookies.issued({
    accessToken: tokens.accessToken,
    expiresIn: tokens.expiresIn,
    refreshToken: tokens.refreshToken,
    // The refresh cookie lives exactly as long as the session can.
    sessionLeft: (sessionEndsAt(tokens.session) - options.now) / 1000,
  });
  return { body, cookies };
}

/**
 * Token answers are never cached (RFC 6749 §5.1), and `private` keeps a shared cache
 * that ignores `no-store` from keeping one that sets a session's cookies (docs/ssr.md,
 * "Behind a CDN").
 */
export const NO_STORE = { "cache-control": "private, no-store", pragma: "no-cache" } as const;

/**
 * A successful token answer: never cached, and the refresh token in the body for native
 * clients or in the httpOnly cookie for web clients (docs/protocol.md, web profile).
 */
export function sendTokens(
  reply: FastifyReply,
  tokens: RefreshedTokens,
  now: number,
  cookies: SessionCookies,
  transport: RefreshTransport = tokens.profile.refreshTransport,
) {
  const answer = tokenResponse(tokens, { now, cookies, transport });
  reply.headers(NO_STORE);
  if (answer.cookies.length > 0) reply.header("set-cookie", answer.cookies);
  return reply.send(answer.body);
}
