import { runStoreConformance } from "@prolong/store-conformance";
import {
  MemoryAuditLog,
  MemoryKeyStore,
  MemoryRateLimitStore,
  MemoryReplayStore,
  MemorySessionStore,
  MemoryStore,
} from "@prolong/store-memory";

runStoreConformance("memory", async () => ({ store: new MemoryStore() }));

// Each concern stands alone, as a deployment may put it beside another backend's concerns.
runStoreConformance(
  "memory concerns alone",
  async () => ({
    store: {
      sessions: new MemorySessionStore(),
      keys: new MemoryKeyStore(),
      audit: new MemoryAuditLog(),
      limits: new MemoryRateLimitStore(),
      replay: new MemoryReplayStore(),
      close: async () => {},
    },
  }),
  { concerns: ["sessions", "keys", "audit", "limits", "replay"], modelRuns: 10 },
);
