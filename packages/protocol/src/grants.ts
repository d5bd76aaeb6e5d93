/** The refresh grant (RFC 6749 §6). */
export const GRANT_TYPE_REFRESH_TOKEN = "refresh_token";

/** Token exchange (RFC 8693 §2.1), prolong's stateless exchange (P10, docs/protocol.md). */
export const GRANT_TYPE_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";

/**
 * The handoff grant (docs/protocol.md, "Handoff grant"): a browser redeems a one-time
 * `code`, which a backend got for it from the admin API, for a web session; the refresh
 * cookie is set by this answer. An extension grant type, hence an absolute URI
 * (RFC 6749 §4.5).
 */
export const GRANT_TYPE_HANDOFF = "urn:prolong:grant-type:handoff";

/**
 * The token type of an access token (RFC 8693 §3): the only `subject_token_type`,
 * `requested_token_type` and `issued_token_type` of prolong's exchange.
 */
export const TOKEN_TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";
