export { MAX_ACCESS_TOKEN_BYTES, signAccessToken } from "./access-token.js";
export { constantTimeEqual } from "./bytes.js";
export type { Clock } from "./clock.js";
export { seconds, systemClock } from "./clock.js";
export { cleanDeviceName, DEVICE_NAME_MAX, truncateGraphemes } from "./device-name.js";
export type {
  ClaimsHook,
  EngineEvent,
  EngineOptions,
  Introspection,
  RevocationBatch,
  RevocationEntry,
  SessionContext,
  TokenSet,
} from "./engine.js";
export { SessionEngine } from "./engine.js";
export { isProlongError, ProlongError } from "./errors.js";
export type { KeyRingOptions, KeyState, RingKey, SigningAlg } from "./keys.js";
export { KeyRing, signingAlgs } from "./keys.js";
export type { ScryptCost } from "./passwords.js";
export {
  checkNewPassword,
  defaultScryptCost,
  hashPassword,
  normalizeUsername,
  verifyPassword,
} from "./passwords.js";
export type { ClientConfig, Policy, Profile, RefreshTransport } from "./policy.js";
export {
  defaultPolicy,
  durationProblem,
  longestAccessTokenTtl,
  nativeProfile,
  profileBounds,
  profileOf,
  validatePolicy,
  webProfile,
} from "./policy.js";
export type { RandomSource } from "./random.js";
export { cryptoRandom, randomId } from "./random.js";
export type { RefreshToken } from "./refresh-token.js";
export { hashRefreshToken, RefreshTokenCodec } from "./refresh-token.js";
export type { RotationPlan } from "./session-rules.js";
export { isSessionExpired, isSessionLive, planRotation, slideIdleDeadline } from "./session-rules.js";
export type * from "./store.js";
