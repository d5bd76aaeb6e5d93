import type { Store } from "@prolong/core";
import { MemoryAccountStore } from "./accounts.js";
import { MemoryAuditLog } from "./audit.js";
import { MemoryKeyStore } from "./keys.js";
import { MemoryRateLimitStore } from "./limits.js";
import { MemoryReplayStore } from "./replay.js";
import { MemorySessionStore } from "./sessions.js";

export { MemoryAccountStore } from "./accounts.js";
export { MemoryAuditLog } from "./audit.js";
export { MemoryKeyStore } from "./keys.js";
export { MemoryRateLimitStore } from "./limits.js";
export { MemoryReplayStore } from "./replay.js";
export { MemorySessionStore } from "./sessions.js";

/**
 * The reference store: every concern in process memory, lost on exit. Each concern is
 * also usable on its own (`new MemorySessionStore()`, …), e.g. beside a shared backend
 * in a test.
 */
export class MemoryStore implements Store {
  readonly sessions = new MemorySessionStore();
  readonly accounts = new MemoryAccountStore();
  readonly keys = new MemoryKeyStore();
  readonly audit = new MemoryAuditLog();
  readonly limits = new MemoryRateLimitStore();
  readonly replay = new MemoryReplayStore();
  /** Readiness heartbeats written by `ping`; memory can always write, but the contract asks for it. */
  #heartbeats = 0;

  async ping(): Promise<void> {
    this.#heartbeats += 1;
  }

  async close(): Promise<void> {}
}
