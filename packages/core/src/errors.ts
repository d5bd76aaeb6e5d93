/**
 * Stable machine-readable codes. The HTTP layer maps them to statuses and to the
 * RFC 6749 §5.2 / RFC 6750 §3 error shapes; the core never knows about HTTP.
 */
export type ErrorCode =
  /** The refresh token is unknown, malformed, forged or bound to another client. */
  | "invalid_grant"
  /** A rotated refresh token came back outside the grace window: the session was revoked (P4). */
  | "reuse_detected"
  /** The session was revoked (logout, admin, password change, "log out everywhere"). */
  | "session_revoked"
  /** The session passed its idle timeout or its absolute lifetime. */
  | "session_expired"
  /** The user must sign in again before this session may refresh (P8). */
  | "reauth_required"
  /** The user is disabled (P8). */
  | "user_disabled"
  /** Username or password is wrong. Deliberately does not say which. */
  | "invalid_credentials"
  /** An access token failed verification. */
  | "invalid_token"
  /** An access token has expired (told apart from invalid: docs/protocol.md, Errors). */
  | "token_expired"
  /** The request names a client that is not configured. */
  | "invalid_client"
  /** Input failed validation (bad username, empty device name, …). */
  | "invalid_request"
  /** A user or session the caller named does not exist or is not theirs. */
  | "not_found"
  /** A username is already taken. */
  | "conflict"
  /** Key material is too weak or of the wrong kind. */
  | "invalid_key"
  /** The next key has not been published long enough to sign (docs/protocol.md, "Key publication"). */
  | "rotation_too_early"
  /** Configuration is wrong; the message names the setting. */
  | "invalid_config"
  /** The client's profile may not use this grant (RFC 6749 §5.2), e.g. the stateless exchange. */
  | "unauthorized_client"
  /**
   * The store cannot serve right now (locked, disk full or read-only, unreachable). A failure
   * of ours, not of the caller's credential: answered 503 and never signs anyone out.
   */
  | "store_unavailable";

/** The one error class of prolong. `code` is stable; `message` is for humans and never holds a secret. */
export class ProlongError extends Error {
  override readonly name = "ProlongError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `error` is a {@link ProlongError}, optionally of the given code. */
export function isProlongError(error: unknown, code?: ErrorCode): error is ProlongError {
  return error instanceof ProlongError && (code === undefined || error.code === code);
}
