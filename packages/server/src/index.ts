export type { BuildAppOptions, ProlongRoutesOptions } from "./app.js";
export { BODY_LIMIT, buildApp, redactedPaths, routesOf } from "./app.js";
export type { TrustProxySetting } from "./client-address.js";
export type { ProlongSettings, RateLimitConfig, RateLimits, ServerConfig } from "./config.js";
export {
  configSchema,
  configSettings,
  fromEnvironment,
  fromFile,
  policyOf,
  publishAheadOf,
  resolveConfig,
} from "./config.js";
export { configReference } from "./config-reference.js";
export type { ConnectHandler, HostRequest } from "./connect-handler.js";
export type { FetchHandler, FetchOptions } from "./fetch-handler.js";
export { resolveRateLimits } from "./limits.js";
export { openApiDocument, operations as openApiOperations } from "./openapi.js";
export type { Prolong, ProlongOptions } from "./prolong.js";
export { createProlong } from "./prolong.js";
export { startServer } from "./serve.js";
export type { EngineExtras, ServerCore } from "./server-core.js";
export { engineFor, serverCore } from "./server-core.js";
export type { Setting, SettingDoc } from "./setting-tree.js";
export type {
  FetchSession,
  FetchSessionInput,
  HostResponse,
  StartSessionInput,
} from "./start-session.js";
export { openStore, redactStoreSpec } from "./store.js";
export type { TokenResponseBody } from "./token-response.js";
