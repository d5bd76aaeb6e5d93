/**
 * prolong's stable error codes and the HTTP status each is answered with on prolong's
 * own JSON endpoints (docs/protocol.md, "Errors"). The OAuth endpoints answer with an
 * {@link OAuthErrorCode} instead and carry the finer code in `prolong_error`.
 */
export const ERROR_STATUS = {
  /** The refresh token is unknown, malformed, forged or bound to another client. */
  invalid_grant: 400,
  /** A rotated refresh token came back outside the grace window: the session was revoked (P4). */
  reuse_detected: 400,
  /** The session was revoked (logout, admin, password change, "log out everywhere"). */
  session_revoked: 400,
  /** The session passed its idle timeout or its absolute lifetime. */
  session_expired: 400,
  /** The user must sign in again before this session may refresh (P8). */
  reauth_required: 400,
  /** The user is disabled (P8). */
  user_disabled: 403,
  /** Username or password is wrong. Deliberately does not say which. */
  invalid_credentials: 401,
  /** An access token failed verification (RFC 6750 §3.1). */
  invalid_token: 401,
  /** An access token has expired; told apart from `invalid_token` so clients renew and retry. */
  token_expired: 401,
  /** The request names a client that is not configured. */
  invalid_client: 400,
  /** The client's profile may not use this grant (RFC 6749 §5.2), e.g. the stateless exchange. */
  unauthorized_client: 400,
  /** Input failed validation; the description names every field at fault. */
  invalid_request: 400,
  /** No credential was presented where one is required (RFC 6750 §3, RFC 9110 §15.5.2). */
  unauthorized: 401,
  /** A sign-in from an origin that is neither the issuer's nor an allowed one (login CSRF). */
  forbidden_origin: 403,
  /**
   * DBSC (docs/bound-sessions.md): the session's browser registered a key, and this
   * refresh came without the short-lived cookie that proves the key is still there. Not a
   * grant failure: the browser renews that cookie and retries, so no one is signed out by
   * a renewal that failed.
   */
  device_unbound: 403,
  /** DBSC: a browser's signed answer to a challenge failed a check; the description says which. */
  invalid_dbsc_proof: 400,
  /** A user, session, route or file the caller named does not exist or is not theirs. */
  not_found: 404,
  /** A username is already taken. */
  conflict: 409,
  /**
   * A sign-in would pass its profile's device limit (`maxSessions` with `onLimit:
   * "refuse"`): the user signs out somewhere else first (docs/session-policies.md).
   */
  session_limit: 409,
  /**
   * The caller's token carries `act` (an administrator impersonating the user, RFC 8693
   * §4.1), and this operation is the user's own to make: changing the password, ending
   * other sessions, starting another impersonation.
   */
  impersonation_forbidden: 403,
  /** The next key has not been published long enough to sign (docs/protocol.md, "Key publication"). */
  rotation_too_early: 409,
  /** The body is larger than any request of the API needs (RFC 9110 §15.5.14). */
  payload_too_large: 413,
  /** The body's media type is not one the route accepts (RFC 9110 §15.5.16). */
  unsupported_media_type: 415,
  /**
   * A DPoP proof is missing where one is required, malformed, signed badly, for another
   * request, too old, replayed, or of another key than the session's (RFC 9449 §5, §7.1).
   */
  invalid_dpop_proof: 400,
  /**
   * The proof lacks the server's current nonce: retry with the one in `DPoP-Nonce`
   * (RFC 9449 §8). Transient, never the end of a session.
   */
  use_dpop_nonce: 400,
  /** Key material is too weak or of the wrong kind. */
  invalid_key: 400,
  /** Over a rate limit: transient, retry after `Retry-After` (RFC 6585 §4). */
  rate_limited: 429,
  /** Configuration is wrong; the description names the setting. */
  invalid_config: 500,
  /** An unexpected failure of ours. */
  internal_error: 500,
  /**
   * The store cannot serve right now (locked, disk full or read-only, unreachable). A
   * failure of ours, not of the caller's credential: answered with `Retry-After` and never
   * a reason to sign anyone out.
   */
  store_unavailable: 503,
} as const;

/** A stable machine-readable code of prolong (docs/protocol.md, "Errors"). */
export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * The codes prolong's OAuth endpoints (token, revocation, introspection) answer with:
 * RFC 6749 §5.2's, `temporarily_unavailable` and `server_error` (RFC 6749 §4.1.2.1) for
 * failures of ours, the extension code `rate_limited` (§5.2 allows extensions), and RFC
 * 9449's `invalid_dpop_proof` and `use_dpop_nonce` (§5, §8).
 */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "temporarily_unavailable"
  | "server_error"
  | "rate_limited"
  | "device_unbound"
  | "invalid_dpop_proof"
  | "use_dpop_nonce";

/**
 * The failures of a presented grant. The token endpoint answers each as RFC 6749 §5.2
 * `invalid_grant` with the finer code in `prolong_error`. They are definitive: the
 * credential will never work again, so they are the only failures after which the web
 * refresh cookie is cleared and a client signs out.
 */
export const GRANT_FAILURES: ReadonlySet<ErrorCode> = /* @__PURE__ */ new Set<ErrorCode>([
  "invalid_grant",
  "reuse_detected",
  "session_revoked",
  "session_expired",
  "reauth_required",
  "user_disabled",
  "invalid_token",
  "token_expired",
]);

/**
 * The one shape of every JSON error body prolong sends: RFC 6749 §5.2's, at the OAuth
 * endpoints and everywhere else alike (docs/protocol.md, "Errors").
 */
export interface ErrorBody {
  error: ErrorCode | OAuthErrorCode;
  /** For people, never for programs: it may change wording, and never holds a secret. */
  error_description?: string;
  /** At the token endpoint, prolong's finer code of an `invalid_grant` (or `invalid_client`). */
  prolong_error?: ErrorCode;
}
