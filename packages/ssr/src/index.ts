export type { CookieSource } from "./cookies.js";
export { cookieHeaderAfter, cookieOf } from "./cookies.js";
export type { Renewal, ServerSession, ServerSessions, ServerSessionsOptions } from "./sessions.js";
export { CACHE_CONTROL_PRIVATE, createServerSessions } from "./sessions.js";
