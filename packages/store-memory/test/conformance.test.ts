import { runStoreConformance } from "@prolong/store-conformance";
import { MemoryStore } from "@prolong/store-memory";

runStoreConformance("memory", async () => ({ store: new MemoryStore() }));
