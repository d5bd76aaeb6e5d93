/**
 * The token endpoint as request/process pairs: build a grant's form, and read the answer
 * into what it means for the session. No I/O and no state here; transport.ts sends.
 */
import {
  type AccessTokenClaims,
  type ErrorBody,
  GRANT_TYPE_HANDOFF,
  GRANT_TYPE_REFRESH_TOKEN,
  type SignOutReason,
} from "@prolong/protocol";
import { readClaims } from "./claims.js";
import type { ClientErrorCode } from "./events.js";

export type Body = Record<string, string>;
/** A JSON answer of the server: tokens (RFC 6749 §5.1) or an error (docs/protocol.md, "Errors"). */
export type Answer = Body & Partial<ErrorBody>;

/**
 * What a token answer means:
 * - `tokens`: a new access token, and a new refresh token when `body` has one; a 200
 *   without `refresh_token` means "keep the one you hold" (the server answers a request
 *   that lost a race inside the grace window so, docs/protocol.md);
 * - `retry`: a transient failure, no attempt before `wait` ms from now;
 * - `end`: the session is over, for `reason`.
 */
export type TokenOutcome =
  | { kind: "tokens"; body: Answer; claims: AccessTokenClaims }
  | { kind: "retry"; error: Error; status: number; wait: number }
  | { kind: "end"; reason: SignOutReason };

/** RFC 6749 §6: renew with the refresh credential (`{}` for web, where the cookie carries it). */
export const refreshGrantRequest = (credential: Body): Body => ({
  grant_type: GRANT_TYPE_REFRESH_TOKEN,
  ...credential,
});

/** The login endpoint's request (docs/protocol.md): a JSON body, the refresh cookie set by its answer (web). */
export const signInRequest = (
  input: { username: string; password: string; deviceName?: string },
  clientId: string,
): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  credentials: "include",
  body: JSON.stringify({
    username: input.username,
    password: input.password,
    client_id: clientId,
    // Left out when not given: JSON.stringify drops undefined members.
    device_name: input.deviceName || undefined,
  }),
});

/** Redeem a one-time handoff code (docs/protocol.md, "Handoff grant"). */
export const handoffGrantRequest = (code: string): Body => ({ grant_type: GRANT_TYPE_HANDOFF, code });

/**
 * Reads a refresh grant's answer; `now` is server time in ms, for an HTTP-date Retry-After.
 * Only `invalid_grant` (RFC 6749 §5.2, with prolong's finer code) and a 204 (no refresh
 * cookie reached the server: docs/protocol.md, "Web profile: the refresh cookie") end a
 * session; any other answer, a proxy's HTML 404 or a 403 as much as a 503, or a 200
 * without a usable token, is a failure to retry.
 */
export function processTokenAnswer(response: Response, body: Answer, now: number): TokenOutcome {
  if (response.status === 204) return { kind: "end", reason: "expired" };
  if (body.error === "invalid_grant") return { kind: "end", reason: reasonOf(body.prolong_error) };
  const claims = response.ok ? readClaims(body.access_token ?? "") : null;
  if (claims) return { kind: "tokens", body, claims };
  return {
    kind: "retry",
    error: failure(
      (body.error as string) === "invalid_dpop_proof" ? "invalid_dpop_proof" : codeOf(response.status),
      `token endpoint answered ${response.status}`,
    ),
    status: response.status,
    wait: retryAfter(response, now),
  };
}

/** A sign-in or handoff answer that starts no session, as the error `signIn` and `redeemHandoff` reject with. */
export function refusal(response: Response, body: Answer): Error {
  const message = body.error_description ?? `the server answered ${response.status}`;
  return Object.assign(new Error(message), {
    status: response.status,
    body,
    code: body.prolong_error ?? body.error,
  });
}

/** What an answer that does not settle the session says went wrong. */
export const codeOf = (status: number): ClientErrorCode =>
  status === 429 ? "rate_limited" : status >= 500 ? "server_error" : "unexpected_answer";

/** An error of ours, its `code` the `error` event's. */
export const failure = (code: ClientErrorCode, message: string) =>
  Object.assign(new Error(message), { code });

/** prolong's fine error codes mapped to the reason a session ended (docs/protocol.md). */
function reasonOf(code: ErrorBody["prolong_error"]): SignOutReason {
  if (code === "reuse_detected") return "reused";
  if (code === "session_expired" || code === "token_expired") return "expired";
  return "revoked";
}

/** RFC 9110 §10.2.3 Retry-After, delay-seconds or an HTTP-date, in ms from `now` (0 when absent). */
function retryAfter(response: Response, now: number): number {
  const value = response.headers.get("retry-after");
  if (!value) return 0;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  // An unreadable date is NaN: no wait asked for.
  return Math.max(ms || 0, 0);
}
