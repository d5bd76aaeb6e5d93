/** The refresh grant (RFC 6749 §6). */
export const GRANT_TYPE_REFRESH_TOKEN = "refresh_token";

/** Token exchange (RFC 8693 §2.1), prolong's stateless exchange (P10, docs/protocol.md). */
export const GRANT_TYPE_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";

/**
 * The token type of an access token (RFC 8693 §3): the only `subject_token_type`,
 * `requested_token_type` and `issued_token_type` of prolong's exchange.
 */
export const TOKEN_TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";
