/**
 * The JWS algorithms prolong signs access tokens with, and the only ones its verifiers
 * accept (docs/protocol.md, "Access tokens"). EdDSA means Ed25519 (RFC 8037). `none`
 * is never among them (RFC 8725 §3.1).
 */
export type SigningAlg = "EdDSA" | "ES256" | "RS256" | "HS256";
export const SIGNING_ALGS: readonly SigningAlg[] = ["EdDSA", "ES256", "RS256", "HS256"];

/** An HS256 key is at least as long as the hash output (RFC 7518 §3.2). */
export const MIN_HMAC_KEY_BYTES = 32;

/** RS256 keys have at least 2048 bits (RFC 7518 §3.3). */
export const MIN_RSA_KEY_BITS = 2048;
