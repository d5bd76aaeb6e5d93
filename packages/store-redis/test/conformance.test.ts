// @module-tag redis-server
import { runStoreConformance, type StoreUnderTest } from "@prolong/store-conformance";
import { openRedisStore } from "@prolong/store-redis";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { openRedisTestStore, type RedisServer, startRedisServer } from "../../../testing/redis-server.js";

let server: RedisServer;
/** The key prefix of each store under test, so a second client can open the same data. */
const prefixes = new WeakMap<StoreUnderTest, string>();

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.close();
});

/** Runs one command on its own connection, as an operator would with redis-cli. */
async function admin(...command: string[]): Promise<void> {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 0 });
  try {
    await redis.call(command[0] as string, ...command.slice(1));
  } finally {
    redis.disconnect();
  }
}

// One real server for the file; each store has a key prefix of its own.
runStoreConformance(
  "redis",
  async () => {
    const { store, prefix, cleanup } = await openRedisTestStore(server);
    prefixes.set(store, prefix);
    return { store, cleanup };
  },
  {
    // A client of its own on the same keys, as a second server instance has.
    openPeer: async (store: StoreUnderTest) =>
      openRedisStore({ url: server.url, keyPrefix: prefixes.get(store) as string }),
    // An outage as production meets it: a primary that lost its replicas refuses every
    // write with NOREPLICAS (min-replicas-to-write) while it still answers reads.
    blockWrites: async () => {
      await admin("CONFIG", "SET", "min-replicas-to-write", "1");
      return () => admin("CONFIG", "SET", "min-replicas-to-write", "0");
    },
  },
);
