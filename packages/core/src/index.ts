export { signAccessToken } from "./access-token.js";
export { checkAcr, checkAmr } from "./authentication-context.js";
export type { Clock } from "./clock.js";
export { seconds, systemClock } from "./clock.js";
export {
  cleanDeviceName,
  DEVICE_NAME_MAX,
  deviceNameFromUserAgent,
  truncateGraphemes,
  UNKNOWN_DEVICE_NAME,
} from "./device-name.js";
export type { AccountHolder, SubjectPage } from "./engine/accounts.js";
export { SECURITY_EVENT_TYPES } from "./engine/audit.js";
export type { Caller } from "./engine/authenticate.js";
export type { ClaimsHook } from "./engine/context.js";
export type { DeviceBinding } from "./engine/device-keys.js";
export type { ProvenKey } from "./engine/dpop-proofs.js";
export type { EngineEvent, EngineListener, ListenerFailureHandler } from "./engine/events.js";
export type { ExchangeInput } from "./engine/exchange.js";
export type {
  AccessGrant,
  ExchangedToken,
  IssuedTokens,
  OvertakenTokens,
  RefreshedTokens,
} from "./engine/grants.js";
export type { Handoff } from "./engine/handoff.js";
export { HANDOFF_TTL_SECONDS } from "./engine/handoff.js";
export type { ImpersonationInput } from "./engine/impersonation.js";
export {
  DEFAULT_IMPERSONATION_MAX_TTL,
  IMPERSONATION_TTL_CEILING,
  refuseImpersonator,
} from "./engine/impersonation.js";
export type { Introspection } from "./engine/introspect.js";
export type { RefreshInput } from "./engine/refresh.js";
export type { RevocationBatch, RevocationEntry } from "./engine/revocation-feed.js";
export type { EngineOptions } from "./engine/session-engine.js";
export { SessionEngine } from "./engine/session-engine.js";
export type { SessionPage, SessionQuery } from "./engine/sessions.js";
export type { SessionContext } from "./engine/sign-in.js";
export type { KeyListing } from "./engine/signing-keys.js";
export type { SteppedUp, StepUpInput } from "./engine/step-up.js";
export type { SubjectDetails } from "./engine/subjects.js";
export { isProlongError, ProlongError } from "./errors.js";
export type { KeyRingOptions, KeyState, RingKey } from "./keys.js";
export { DEFAULT_JWKS_MAX_AGE, KeyRing, publishAheadFor } from "./keys.js";
export type { ScryptCost } from "./passwords.js";
export {
  checkNewPassword,
  defaultScryptCost,
  hashPassword,
  normalizeUsername,
  verifyPassword,
} from "./passwords.js";
export type {
  ClientConfig,
  DbscSettings,
  Policy,
  Profile,
  RefreshTransport,
  SessionCap,
} from "./policy.js";
export {
  checkedPolicy,
  defaultPolicy,
  durationProblem,
  longestAccessTokenTtl,
  MAX_SESSIONS_CEILING,
  nativeProfile,
  profileBounds,
  profileOf,
  refreshAfterRatioRange,
  validatePolicy,
  webProfile,
} from "./policy.js";
export type { RandomSource } from "./random.js";
export { cryptoRandom, randomId } from "./random.js";
export type { RefreshToken } from "./refresh-token.js";
export { hashRefreshToken, RefreshTokenCodec } from "./refresh-token.js";
export type { GrantPlan, LimitPlan, RotationPlan, Standing } from "./session-rules.js";
export {
  accessTokenExpiry,
  accessTokenStanding,
  assertSessionLimit,
  countGrant,
  countsTowardsLimit,
  isSessionExpired,
  isSessionLive,
  leastRecentlyActive,
  planGrant,
  planRotation,
  planSessionLimit,
  planStepUp,
  sessionEndsAt,
  sessionState,
  slideIdleDeadline,
  spendsGrant,
  standing,
} from "./session-rules.js";
export type * from "./store/index.js";
export type { EventPosition } from "./store/page-cursor.js";
export { formatEventCursor, parseEventCursor } from "./store/page-cursor.js";
export { checkSubjectClaims, MAX_SUBJECT_CLAIMS_BYTES } from "./subject-claims.js";
export { checkSubjectId, SUBJECT_ID_MAX, subjectIdProblem } from "./subject-id.js";
