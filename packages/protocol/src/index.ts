export type { AccessTokenClaims } from "./access-token.js";
export {
  ACCESS_TOKEN_TYP,
  EARLIEST_RENEWAL,
  MAX_ACCESS_TOKEN_BYTES,
  RESERVED_CLAIMS,
  SOFT_EXPIRY_HEADER,
  SOFT_EXPIRY_VALUE,
} from "./access-token.js";
export type { SigningAlg } from "./algorithms.js";
export { MIN_HMAC_KEY_BYTES, MIN_RSA_KEY_BITS, SIGNING_ALGS } from "./algorithms.js";
export type { DpopAlg, DpopErrorCode, DpopMode } from "./bound-sessions.js";
export {
  DBSC_CHALLENGE_HEADER,
  DBSC_COOKIE,
  DBSC_PROOF_TYP,
  DBSC_REGISTRATION_HEADER,
  DBSC_RESPONSE_HEADER,
  DBSC_SESSION_ID_HEADER,
  DPOP_ALGS,
  DPOP_HEADER,
  DPOP_MODES,
  DPOP_NONCE_HEADER,
  DPOP_PROOF_LIFETIME_SECONDS,
  DPOP_PROOF_TYP,
  DPOP_SCHEME,
  DPOP_TOKEN_TYPE,
} from "./bound-sessions.js";
export type { ErrorBody, ErrorCode, OAuthErrorCode } from "./errors.js";
export { ERROR_STATUS, GRANT_FAILURES } from "./errors.js";
export type { FeedEvent, FeedRevoked, FeedSnapshot, FeedVersion } from "./feed.js";
export { decodeFeedEvent, encodeFeedEvent, FEED_EVENTS } from "./feed.js";
export {
  GRANT_TYPE_HANDOFF,
  GRANT_TYPE_REFRESH_TOKEN,
  GRANT_TYPE_TOKEN_EXCHANGE,
  TOKEN_TYPE_ACCESS_TOKEN,
} from "./grants.js";
export type { AuthorizationServerMetadata } from "./metadata.js";
export { ENDPOINT_PATHS, METADATA_PATH } from "./metadata.js";
export type { StepUpBody } from "./step-up.js";
export { STEP_UP_ERROR } from "./step-up.js";
export type { SignOutReason, TabMessage } from "./tabs.js";
export { decodeTabMessage, SIGN_OUT_REASONS } from "./tabs.js";
export {
  ACCESS_COOKIE,
  CSRF_HEADER,
  CSRF_VALUE,
  REFRESH_COOKIE,
  REFRESH_COOKIE_PATH,
  SSR_REFRESH_COOKIE,
} from "./web-profile.js";
