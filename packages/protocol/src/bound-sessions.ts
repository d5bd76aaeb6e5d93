/**
 * The vocabulary of bound sessions (docs/bound-sessions.md): DPoP (RFC 9449) for
 * clients that hold a key, and Device Bound Session Credentials (W3C webappsec-dbsc
 * draft) for browsers. One place for the names, so the server, the verifier and the
 * client cannot drift apart.
 */

/** RFC 9449 §4.1: the request header that carries a proof. */
export const DPOP_HEADER = "DPoP";

/** RFC 9449 §8.1, §9: the response header that carries a server-provided nonce. */
export const DPOP_NONCE_HEADER = "DPoP-Nonce";

/** RFC 9449 §4.2: the JOSE `typ` of a proof. */
export const DPOP_PROOF_TYP = "dpop+jwt";

/** RFC 9449 §7.1: the authorization scheme of a bound access token. */
export const DPOP_SCHEME = "DPoP";

/** RFC 9449 §5: the `token_type` of a token answer whose access token is bound. */
export const DPOP_TOKEN_TYPE = "DPoP";

/**
 * The proof algorithms prolong accepts (RFC 9449 §4.3 point 5: asymmetric only; `none`
 * and MAC algorithms are never among them). ES256 comes first: it is what Web Crypto,
 * the client SDK and Chromium's software keys make.
 */
export type DpopAlg = "ES256" | "EdDSA" | "RS256" | "PS256";
export const DPOP_ALGS: readonly DpopAlg[] = ["ES256", "EdDSA", "RS256", "PS256"];

/**
 * How long after its `iat` a proof is accepted, and so how long its `jti` is remembered
 * to refuse a replay (RFC 9449 §11.1). A proof dated further in the future than the
 * clock tolerance is refused too.
 */
export const DPOP_PROOF_LIFETIME_SECONDS = 60;

/**
 * The RFC 9449 error codes: §5 and §7.1 `invalid_dpop_proof`, §8 and §9 `use_dpop_nonce`
 * (answered with a fresh {@link DPOP_NONCE_HEADER}).
 */
export type DpopErrorCode = "invalid_dpop_proof" | "use_dpop_nonce";

/**
 * Whether a client profile takes DPoP proofs: `off` ignores the `DPoP` header, `allowed`
 * binds a session when its sign-in carried a proof, `required` refuses requests without
 * one.
 */
export type DpopMode = "off" | "allowed" | "required";
export const DPOP_MODES: readonly DpopMode[] = ["off", "allowed", "required"];

/** DBSC: the response header that asks a browser to register a device key. */
export const DBSC_REGISTRATION_HEADER = "Secure-Session-Registration";
/** DBSC: the request header that carries the browser's signed answer to a challenge. */
export const DBSC_RESPONSE_HEADER = "Secure-Session-Response";
/** DBSC: the response header that hands the browser a fresh challenge at refresh. */
export const DBSC_CHALLENGE_HEADER = "Secure-Session-Challenge";
/** DBSC: the request header that names the DBSC session being refreshed. */
export const DBSC_SESSION_ID_HEADER = "Sec-Secure-Session-Id";
/** DBSC: the JOSE `typ` of the browser's proofs. */
export const DBSC_PROOF_TYP = "dbsc+jwt";

/**
 * DBSC: the short-lived cookie that proves a browser still holds its registered key,
 * renewed by signing a challenge. A `__Host-` cookie (RFC 6265bis §4.1.3.2: Path=/, no
 * Domain), sent with every request to the issuer's origin; a server-rendered app forwards
 * it with the refresh cookie when it renews (docs/bound-sessions.md).
 */
export const DBSC_COOKIE = "__Host-prolong-dbsc";
