import type { TokenSet } from "@prolong/core";
import type { FastifyReply } from "fastify";
import { refreshCookie } from "./credentials.js";

/**
 * A successful token answer (RFC 6749 §5.1): never cached, and the refresh token in
 * the body for native clients or in the httpOnly cookie for web clients (docs/protocol.md, web profile).
 */
export function sendTokens(reply: FastifyReply, tokens: TokenSet, now: number) {
  reply.header("cache-control", "no-store").header("pragma", "no-cache");
  const body: Record<string, unknown> = {
    access_token: tokens.accessToken,
    token_type: "Bearer",
    expires_in: tokens.expiresIn,
    session_id: tokens.sessionId,
  };
  if (tokens.refreshToken !== null) {
    if (tokens.profile.refreshTransport === "cookie") {
      const { idleExpiresAt, absoluteExpiresAt } = tokens.session;
      const end = absoluteExpiresAt === null ? idleExpiresAt : Math.min(idleExpiresAt, absoluteExpiresAt);
      reply.header("set-cookie", refreshCookie(tokens.refreshToken, (end - now) / 1000));
    } else {
      body.refresh_token = tokens.refreshToken;
    }
  }
  return reply.send(body);
}
