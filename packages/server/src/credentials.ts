import { createHash, timingSafeEqual } from "node:crypto";
import { CSRF_HEADER, CSRF_VALUE } from "@prolong/protocol";
import type { FastifyRequest } from "fastify";

/** Compares secrets of any length in constant time (hashing first hides the length too). */
export function secretEquals(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export type BearerResult = { token: string } | { missing: true } | { malformed: true };

/**
 * The access token of the Authorization header, read as @prolong/verify's adapters read it
 * (RFC 6750 §2.1, §3.1). Query-string tokens are refused (they end up in logs). Another
 * scheme (Basic, say) is no bearer credential at all: the bare challenge. A Bearer header
 * that is not one credential is a malformed request (`invalid_request`); a credential that
 * is not a well-formed token is passed on, to be refused as a malformed token
 * (`invalid_token`).
 */
export function bearerToken(request: FastifyRequest): BearerResult {
  const query = request.query as Record<string, unknown> | undefined;
  if (query && Object.hasOwn(query, "access_token")) return { malformed: true };
  const header = request.headers.authorization;
  if (header === undefined || !/^Bearer\b/i.test(header)) return { missing: true };
  const match = /^Bearer +(\S+)$/i.exec(header);
  if (!match?.[1]) return { malformed: true };
  return { token: match[1] };
}

/**
 * Authenticates a resource server (RFC 6749 §2.3.1 HTTP Basic as client `resource`,
 * or the shared secret as a Bearer token).
 */
export function isResourceServer(request: FastifyRequest, secret: string): boolean {
  const header = request.headers.authorization ?? "";
  const basic = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header);
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return false;
    // §2.3.1: client id and secret are form-urlencoded before Basic encoding.
    const id = safeDecode(decoded.slice(0, colon));
    const password = safeDecode(decoded.slice(colon + 1));
    return id === "resource" && password !== null && secretEquals(password, secret);
  }
  const bearer = /^Bearer +(\S+)$/i.exec(header);
  return bearer?.[1] !== undefined && secretEquals(bearer[1], secret);
}

function safeDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, " "));
  } catch {
    return null;
  }
}

/** Reads one cookie from the Cookie header without a parser dependency. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Anti-CSRF for cookie-authenticated requests: a custom header that a cross-site form
 * cannot set (and that forces a CORS preflight for scripts), plus the Origin, when the
 * browser sends one, must be ours.
 */
export function passesCsrfCheck(request: FastifyRequest, allowedOrigins: ReadonlySet<string>): boolean {
  if (request.headers[CSRF_HEADER] !== CSRF_VALUE) return false;
  const origin = request.headers.origin;
  return origin === undefined || allowedOrigins.has(origin);
}
