/** The claims of the tokens this package verifies, declared once in `@prolong/protocol`. */
export type { AccessTokenClaims } from "@prolong/protocol";
export { isCanonicalBase64url } from "./base64url.js";
export type { Authorization, BearerInput, Challenge, GuardOptions } from "./bearer.js";
export { authorize, checkGuardOptions } from "./bearer.js";
export type { ClaimRules } from "./claims.js";
export { checkClaims, DEFAULT_CLOCK_TOLERANCE } from "./claims.js";
export type { Proof, ProofCheck } from "./dpop.js";
export {
  checkDpopProof,
  MAX_PROOF_BYTES,
  MAX_PROOF_JTI_LENGTH,
  ProofReplayCache,
  proofTarget,
  thumbprint,
} from "./dpop.js";
export type { DpopNonceOptions } from "./dpop-nonce.js";
export { createDpopNonces } from "./dpop-nonce.js";
export type { VerifyErrorCode } from "./errors.js";
export { VerifyError } from "./errors.js";
export type { FeedCredentials, RevocationFeedOptions } from "./feed.js";
export { createRevocationFeed, RevocationFeed } from "./feed.js";
export type { JwksOptions } from "./jwks.js";
export { JwksCache } from "./jwks.js";
export type { ParsedJws, ParsedKeyedJws } from "./jws.js";
export { checkSignature, parseCompactJws, parseKeyedJws } from "./jws.js";
export type { Algorithm, JwsAlg, VerificationKey } from "./keys.js";
export { ALGORITHMS, importJwks, importVerificationKey } from "./keys.js";
export type { AuthenticationRequirements, UnmetRequirement } from "./step-up.js";
export { unmetRequirements } from "./step-up.js";
export { parseStrictObject } from "./strict-json.js";
export type {
  DpopNonces,
  DpopOptions,
  DpopRequest,
  KeyLookup,
  ProofReplayGuard,
  RevocationSource,
  Verifier,
  VerifierOptions,
  VerifyResult,
} from "./verifier.js";
export { createVerifier, DEFAULT_REPLAY_ENTRIES } from "./verifier.js";
