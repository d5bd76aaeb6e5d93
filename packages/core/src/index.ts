export { constantTimeEqual } from "./bytes.js";
export type { Clock } from "./clock.js";
export { seconds, systemClock } from "./clock.js";
export type { ErrorCode } from "./errors.js";
export { isProlongError, ProlongError } from "./errors.js";
export type { ClientConfig, Policy, Profile, RefreshTransport } from "./policy.js";
export {
  defaultPolicy,
  longestAccessTokenTtl,
  nativeProfile,
  profileOf,
  validatePolicy,
  webProfile,
} from "./policy.js";
export type { RandomSource } from "./random.js";
export { cryptoRandom, randomId } from "./random.js";
export type * from "./store.js";
