import { type IssuedTokens, type RefreshTransport, sessionEndsAt } from "@prolong/core";
import type { FastifyReply } from "fastify";
import { refreshCookie } from "./credentials.js";

/**
 * A successful token answer (RFC 6749 §5.1): never cached, and the refresh token in
 * the body for native clients or in the httpOnly cookie for web clients (docs/protocol.md, web profile).
 */
export function sendTokens(
  reply: FastifyReply,
  tokens: IssuedTokens,
  now: number,
  transport: RefreshTransport = tokens.profile.refreshTransport,
) {
  reply.header("cache-control", "no-store").header("pragma", "no-cache");
  const body: Record<string, unknown> = {
    access_token: tokens.accessToken,
    token_type: "Bearer",
    expires_in: tokens.expiresIn,
    session_id: tokens.sessionId,
  };
  // The cookie lives exactly as long as the session can.
  if (transport === "cookie") {
    reply.header(
      "set-cookie",
      refreshCookie(tokens.refreshToken, (sessionEndsAt(tokens.session) - now) / 1000),
    );
  } else {
    body.refresh_token = tokens.refreshToken;
  }
  return reply.send(body);
}
