/**
 * The JOSE header `typ` of a prolong access token (RFC 9068 §2.1). Verifiers also accept
 * it with the `application/` prefix (RFC 7515 §4.1.9).
 */
export const ACCESS_TOKEN_TYP = "at+jwt";

/**
 * Tokens longer than this are refused before any parsing, by the server and by default
 * by every verifier, so input size cannot be used to burn CPU.
 */
export const MAX_ACCESS_TOKEN_BYTES = 8192;

/**
 * The fraction of an access token's life (`iat` to `exp`) before which a client never
 * renews it, whatever `rfa` and its lead say: the server's per-session refresh budget
 * is sized on it (5 s tokens renew at most every 2.5 s).
 */
export const EARLIEST_RENEWAL = 0.5;

/**
 * The claims of a prolong access token (docs/protocol.md, "Access tokens and soft
 * expiry"): RFC 9068 §2.2's `iss sub aud exp iat jti client_id` and `auth_time`, prolong's
 * `sid ver rfa`, and the custom claims the server's claims hook adds. Every required claim
 * here is in every token prolong issues; times are seconds since the epoch.
 */
export interface AccessTokenClaims {
  /** The issuer, exactly as configured (RFC 9068 §2.2, RFC 7519 §4.1.1). */
  iss: string;
  /** The user's id (RFC 7519 §4.1.2). */
  sub: string;
  /** The audience; prolong issues one, RFC 7519 §4.1.3 also allows a list. */
  aud: string | string[];
  exp: number;
  iat: number;
  /** Not before; prolong does not set it, verifiers honour it when present (RFC 7519 §4.1.5). */
  nbf?: number;
  jti: string;
  /** The client the session was started for (RFC 9068 §2.2, RFC 8693 §4.3). */
  client_id: string;
  /** The session id; a revoked session's tokens are refused by `sid`. */
  sid: string;
  /** The user's token version; "log out everywhere" bumps it, refusing every older token. */
  ver: number;
  /** When the user last signed in with a credential (RFC 9068 §2.2.1, OpenID Connect Core §2). */
  auth_time: number;
  /** Refresh after: from this time the client renews (soft expiry, P11). */
  rfa: number;
  /**
   * RFC 9449 §6.1: the token is bound to the DPoP key of this RFC 7638 thumbprint; only
   * in tokens issued to a request that came with a proof. Resource servers then take it
   * only as `Authorization: DPoP` with a proof of that key.
   */
  cnf?: { jkt: string };
  /**
   * Authentication context class the session was started or last stepped up with, as the
   * host named it (RFC 9068 §2.2.1, OpenID Connect Core §2); only when the session has one.
   * Resource servers may demand one of a set (RFC 9470 §3 `acr_values`).
   */
  acr?: string;
  /** Authentication methods used, such as `pwd`, `otp`, `hwk` (RFC 8176 §2); only when the session has them. */
  amr?: string[];
  /**
   * The actor acting on the subject's behalf (RFC 8693 §4.1): in tokens of a session an
   * administrator started as the subject, whose id is `act.sub`.
   */
  act?: { sub: string };
  [custom: string]: unknown;
}

/**
 * The claims prolong sets itself (RFC 9068 §2.2 and its own), which the claims hook may
 * not set or override; `nbf` too, so no custom claim can postpone a token; `acr`, `amr`
 * and `act` too, so only the session's own authentication facts (what the host told at
 * sign-in or step-up, or an impersonation) meet a route's step-up requirements.
 */
export const RESERVED_CLAIMS: ReadonlySet<string> = /* @__PURE__ */ new Set([
  "iss",
  "sub",
  "aud",
  "exp",
  "iat",
  "nbf",
  "jti",
  "client_id",
  "sid",
  "ver",
  "auth_time",
  "rfa",
  "cnf",
  "acr",
  "amr",
  "act",
]);

/**
 * Soft expiry (P11, docs/protocol.md): resource servers send `prolong-refresh: soon` on
 * successful answers once the token's `rfa` has passed; clients then renew at once,
 * whatever their own clock says. Header names are case-insensitive (RFC 9110 §5.1); this
 * is the lowercase form Node and HTTP/2 use.
 */
export const SOFT_EXPIRY_HEADER = "prolong-refresh";
/** The value of {@link SOFT_EXPIRY_HEADER}. */
export const SOFT_EXPIRY_VALUE = "soon";
