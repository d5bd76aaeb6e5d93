export type { ProlongProviderProps, Session } from "./provider.js";
export { ProlongProvider, useSession } from "./provider.js";
export type { SessionSnapshot, SessionStatus } from "./session-state.js";
