import { type RefreshedTokens, type RefreshTransport, sessionEndsAt } from "@prolong/core";
import type { FastifyReply } from "fastify";
import { refreshCookie } from "./credentials.js";

/** The body of a successful token answer (RFC 6749 §5.1), as prolong sends it. */
export interface TokenResponseBody {
  access_token: string;
  token_type: "Bearer";
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
 * A token answer split into its body and, for the web profile, the refresh cookie: the
 * refresh token is in one or the other, never both (docs/protocol.md, web profile), and
 * in neither for a straggler, so a browser keeps the newer cookie it was given.
 */
export function tokenResponse(
  tokens: RefreshedTokens,
  options: { now: number; cookiePath: string; transport?: RefreshTransport },
): { body: TokenResponseBody; cookie: string | null } {
  const body: TokenResponseBody = {
    access_token: tokens.accessToken,
    token_type: "Bearer",
    expires_in: tokens.expiresIn,
    session_id: tokens.sessionId,
  };
  if (tokens.refreshToken === null) return { body, cookie: null };
  if ((options.transport ?? tokens.profile.refreshTransport) === "body") {
    body.refresh_token = tokens.refreshToken;
    return { body, cookie: null };
  }
  // The cookie lives exactly as long as the session can.
  const maxAge = (sessionEndsAt(tokens.session) - options.now) / 1000;
  return { body, cookie: refreshCookie(tokens.refreshToken, maxAge, options.cookiePath) };
}

/** Token answers are never cached (RFC 6749 §5.1). */
export const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" } as const;

/**
 * A successful token answer: never cached, and the refresh token in the body for native
 * clients or in the httpOnly cookie for web clients (docs/protocol.md, web profile).
 */
export function sendTokens(
  reply: FastifyReply,
  tokens: RefreshedTokens,
  now: number,
  cookiePath: string,
  transport: RefreshTransport = tokens.profile.refreshTransport,
) {
  const { body, cookie } = tokenResponse(tokens, { now, cookiePath, transport });
  reply.headers(NO_STORE);
  if (cookie !== null) reply.header("set-cookie", cookie);
  return reply.send(body);
}
