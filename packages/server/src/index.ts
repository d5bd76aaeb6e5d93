export type { BuildAppOptions } from "./app.js";
export { BODY_LIMIT, buildApp, redactedPaths, routesOf } from "./app.js";
export type { RateLimitConfig, ServerConfig } from "./config.js";
export {
  configSchema,
  defaultRateLimits,
  fromEnvironment,
  fromFile,
  policyOf,
  publishAheadOf,
  resolveConfig,
} from "./config.js";
export { CSRF_HEADER, REFRESH_COOKIE } from "./credentials.js";
export { openApiDocument, operations as openApiOperations } from "./openapi.js";
export { SOFT_EXPIRY_HEADER } from "./routes/demo.js";
export { startServer } from "./serve.js";
export { openStore } from "./store.js";
