import type { IncomingMessage, ServerResponse } from "node:http";
import type { SessionEngine } from "@prolong/core";
import { DBSC_REGISTRATION_HEADER } from "@prolong/protocol";
import type { FastifyReply } from "fastify";
import { hostClientAddress } from "./client-address.js";
import type { SessionBinding } from "./dbsc/session-binding.js";
import type { SessionCookies } from "./session-cookies.js";
import { NO_STORE, type TokenResponseBody, tokenResponse } from "./token-response.js";

/** Who the host application's own login signed in, and for which client. */
export interface StartSessionInput {
  /** The application's user id: the session's subject and the `sub` of its tokens. */
  subject: string;
  deviceName?: string | null;
  /** A configured `client_id`; default `web`. */
  client?: string;
  /**
   * How the host authenticated the user: the `acr` (RFC 9068 §2.2.1) and `amr` (RFC 8176)
   * of the session's access tokens until a step-up changes them (docs/session-policies.md).
   */
  acr?: string | null;
  amr?: string[] | null;
}

/** The same, from a Fetch-API host, which also says where the request came from. */
export interface FetchSessionInput extends StartSessionInput {
  /**
   * The client's IP address as the host knows it (a `Request` has no socket); recorded on
   * the session. Without it the session records no address.
   */
  clientAddress?: string | null | undefined;
}

/** A started session for a Fetch-API host to answer with: `Response.json(body, { headers })`. */
export interface FetchSession {
  body: TokenResponseBody;
  /** `Cache-Control: private, no-store`, and for a web client its cookies (`Set-Cookie`). */
  headers: Headers;
}

/** The host's answer to its login request: a Fastify reply, or a Node (Express, Connect) response. */
export type HostResponse = FastifyReply | ServerResponse;

/** What a session records of the request that started it. */
interface RequestSeen {
  userAgent: string | null;
  ip: string | null;
}

/** A started session's answer, the same on every surface: its body and the headers it goes with. */
interface SessionAnswer {
  body: TokenResponseBody;
  headers: [name: string, value: string][];
}

/**
 * Starts a session for a user the host application authenticated itself: a web-profile
 * client gets the refresh cookie (on the issuer's path, docs/protocol.md, "Web profile:
 * the refresh cookie") and a body without the refresh token; a native client gets both
 * tokens in the body. Token answers are never cached (RFC 6749 §5.1), so the headers
 * always mark the answer `no-store`. With DBSC on for the profile, they also ask the
 * browser to register a key (docs/bound-sessions.md, "Browsers: DBSC").
 */
async function sessionAnswer(
  engine: SessionEngine,
  cookies: SessionCookies,
  binding: SessionBinding,
  input: StartSessionInput,
  seen: RequestSeen,
): Promise<SessionAnswer> {
  const tokens = await engine.startSessionForSubject({
    subjectId: input.subject,
    ...(input.client === undefined ? {} : { clientId: input.client }),
    deviceName: input.deviceName ?? null,
    ...(input.acr === undefined ? {} : { acr: input.acr }),
    ...(input.amr === undefined ? {} : { amr: input.amr }),
    ...seen,
  });
  const { body, cookies: set } = tokenResponse(tokens, { now: engine.now(), cookies });
  const headers: [string, string][] = Object.entries(NO_STORE);
  for (const cookie of set) headers.push(["set-cookie", cookie]);
  const registration = binding.registration(tokens);
  if (registration !== null) headers.push([DBSC_REGISTRATION_HEADER, registration]);
  return { body, headers };
}

function isFastifyReply(target: HostResponse): target is FastifyReply {
  return "raw" in target && "request" in target && typeof (target as FastifyReply).header === "function";
}

/** What the session records of the request: its user agent and the client's address as the host sees it. */
function requestOf(target: HostResponse): RequestSeen {
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
 * Starts a session (see {@link sessionAnswer}) on the host's own answer to its login
 * request, a Fastify reply or a Node response: the headers are set on it, the body is
 * returned for the host to send as it likes (`return body` in Fastify, `res.json(body)`
 * in Express).
 */
export async function startSessionOn(
  engine: SessionEngine,
  cookies: SessionCookies,
  binding: SessionBinding,
  target: HostResponse,
  input: StartSessionInput,
): Promise<TokenResponseBody> {
  // A Fetch Response (Next's NextResponse, say) has neither; its host wants startFetchSession.
  if (!isFastifyReply(target) && typeof target?.setHeader !== "function") {
    throw new TypeError(
      "startSession: takes a Fastify reply or a Node response; for a Fetch Response use startFetchSession(request, input) and answer with its body and headers",
    );
  }
  // Checked first, so a late call never leaves a session that no browser holds.
  if (headersSent(target)) throw new TypeError("startSession: the response's headers are already sent");
  const { body, headers } = await sessionAnswer(engine, cookies, binding, input, requestOf(target));
  for (const [name, value] of headers) {
    // Fastify adds a `Set-Cookie` to those already set; on a Node response it is appended here.
    if (isFastifyReply(target)) target.header(name, value);
    else if (name === "set-cookie") appendCookie(target, value);
    else target.setHeader(name, value);
  }
  return body;
}

/**
 * Starts a session (see {@link sessionAnswer}) for a Fetch-API host's login route: the
 * body and the headers to answer with, as a `Headers` the host passes to its `Response`
 * (`Response.json(body, { headers })`) or appends to one it built (`Headers.append`
 * keeps every `Set-Cookie`).
 */
export async function startFetchSession(
  engine: SessionEngine,
  cookies: SessionCookies,
  binding: SessionBinding,
  request: Request,
  input: FetchSessionInput,
): Promise<FetchSession> {
  const seen = {
    userAgent: request.headers.get("user-agent"),
    ip: hostClientAddress(input.clientAddress, "startFetchSession: clientAddress"),
  };
  const answer = await sessionAnswer(engine, cookies, binding, input, seen);
  const headers = new Headers();
  for (const [name, value] of answer.headers) headers.append(name, value);
  return { body: answer.body, headers };
}
