/** The claims of the tokens this client holds, declared once in `@prolong/protocol`. */
export type { AccessTokenClaims } from "@prolong/protocol";
export { readClaims } from "./claims.js";
export { createSessionClient, SessionClient } from "./client.js";
export type { DpopKeyPair, DpopKeyStore, DpopOption, WebCryptoKey } from "./dpop-key.js";
export type { ClientError, ClientErrorCode, ClientEvents, RefreshSource, SignOutReason } from "./events.js";
export type { ChannelLike, LockManagerLike, SessionClientOptions, TokenAnswer } from "./options.js";
export type { Timers } from "./schedule.js";
export { MAX_WAIT_MS } from "./schedule.js";
export type { StepUpChallenge } from "./step-up.js";
export type { TokenStorage } from "./storage.js";
export { memoryStorage } from "./storage.js";
