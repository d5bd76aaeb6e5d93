/** Where the metadata document is served, relative to the issuer (RFC 8414 §3). */
export const METADATA_PATH = "/.well-known/oauth-authorization-server";

/**
 * The paths prolong serves its endpoints at, relative to the issuer (docs/protocol.md,
 * "Endpoints"). Clients find them in the metadata document rather than assuming these.
 */
export const ENDPOINT_PATHS = {
  /** The JWK Set (RFC 7517 §5) of the keys that sign access tokens. */
  jwks: "/.well-known/jwks.json",
  /** RFC 6749 §3.2: refresh (§6) and token exchange (RFC 8693). */
  token: "/oauth/token",
  /** RFC 7009. */
  revocation: "/oauth/revoke",
  /** RFC 7662. */
  introspection: "/oauth/introspect",
  /** Sign-in with username and password. */
  login: "/login",
  /** The caller's sessions. */
  sessions: "/sessions",
  /** The revocation feed (Server-Sent Events) for resource servers. */
  revocationFeed: "/revocations/feed",
} as const;

/**
 * The authorization server metadata prolong publishes at {@link METADATA_PATH}: the
 * RFC 8414 §2 members it fills, plus its own `login_endpoint`, `sessions_endpoint` and
 * `revocation_feed_endpoint` (§2 allows additional members). Every URL is absolute,
 * built from the configured issuer, never from the request's `Host`.
 */
export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  revocation_endpoint: string;
  introspection_endpoint: string;
  jwks_uri: string;
  grant_types_supported: string[];
  response_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  revocation_endpoint_auth_methods_supported: string[];
  introspection_endpoint_auth_methods_supported: string[];
  login_endpoint: string;
  sessions_endpoint: string;
  revocation_feed_endpoint: string;
  /** RFC 9449 §5.1: the algorithms of the DPoP proofs the server accepts. */
  dpop_signing_alg_values_supported: string[];
}
