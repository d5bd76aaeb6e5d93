import type { IncomingMessage, ServerResponse } from "node:http";
import type { SessionEngine } from "@prolong/core";
import type { FastifyReply } from "fastify";
import { NO_STORE, type TokenResponseBody, tokenResponse } from "./token-response.js";

/** Who the host application's own login signed in, and for which client. */
export interface StartSessionInput {
  /** The application's user id: the session's subject and the `sub` of its tokens. */
  subject: string;
  deviceName?: string | null;
  /** A configured `client_id`; default `web`. */
  client?: string;
}

/** The host's answer to its login request: a Fastify reply, or a Node (Express, Connect) response. */
export type HostResponse = FastifyReply | ServerResponse;

function isFastifyReply(target: HostResponse): target is FastifyReply {
  return "raw" in target && "request" in target && typeof (target as FastifyReply).header === "function";
}

/** What the session records of the request: its user agent and the client's address as the host sees it. */
function requestOf(target: HostResponse): { userAgent: string | null; ip: string | null } {
  if (isFastifyReply(target)) {
    return { userAgent: target.request.headers["user-agent"] ?? null, ip: target.request.ip };
  }
  // Express's `req.ip` follows the host's own `trust proxy` setting; plain Node has the socket.
  const request = target.req as (IncomingMessage & { ip?: string }) | undefined;
  return {
    userAgent: request?.headers["user-agent"] ?? null,
    ip: request?.ip ?? request?.socket?.remoteAddress ?? null,
  };
}

function headersSent(target: HostResponse): boolean {
  return isFastifyReply(target) ? target.sent || target.raw.headersSent : target.headersSent;
}

/** Adds a `Set-Cookie` to what the host may already have set, never replacing its own cookies. */
function appendCookie(response: ServerResponse, cookie: string): void {
  const existing = response.getHeader("set-cookie");
  const cookies = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  response.setHeader("set-cookie", [...cookies, cookie]);
}

/**
 * Starts a session for a user the host application authenticated itself, on the host's
 * own answer to its login request: a web-profile client gets the refresh cookie (on the
 * issuer's path, docs/protocol.md, "Web profile: the refresh cookie") set on that answer
 * and a body without the refresh token; a native client gets both tokens in the body.
 * Token answers are never cached (RFC 6749 §5.1), so the answer is marked `no-store`.
 * The host sends the returned body as it likes (`return body` in Fastify, `res.json(body)`
 * in Express).
 */
export async function startSessionOn(
  engine: SessionEngine,
  cookiePath: string,
  target: HostResponse,
  input: StartSessionInput,
): Promise<TokenResponseBody> {
  // Checked first, so a late call never leaves a session that no browser holds.
  if (headersSent(target)) throw new TypeError("startSession: the response's headers are already sent");
  const tokens = await engine.startSessionForSubject({
    subjectId: input.subject,
    ...(input.client === undefined ? {} : { clientId: input.client }),
    deviceName: input.deviceName ?? null,
    ...requestOf(target),
  });
  const { body, cookie } = tokenResponse(tokens, { now: engine.now(), cookiePath });
  if (isFastifyReply(target)) {
    target.headers(NO_STORE);
    if (cookie !== null) target.header("set-cookie", cookie);
  } else {
    for (const [name, value] of Object.entries(NO_STORE)) target.setHeader(name, value);
    if (cookie !== null) appendCookie(target, cookie);
  }
  return body;
}
