// @module-tag redis-server
import type { SessionRecord } from "@prolong/core";
import { runStoreConformance, type StoreUnderTest, sessionRecord } from "@prolong/store-conformance";
import type { RedisStore } from "@prolong/store-redis";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRedisTestStore, type RedisServer, startRedisServer } from "../../../testing/redis-server.js";
import { Keyspace } from "../src/keyspace.js";

// A one-node Redis Cluster owning every slot. Redis itself then refuses any `#!lua`
// script that touches keys of two slots ("Script attempted to access keys that do not
// hash to the same slot"), and any command naming keys of two slots (CROSSSLOT): every
// operation passing here stays inside one slot, as a real Cluster needs.
const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer({ cluster: true });
});

afterAll(async () => {
  await server?.close();
});

/**
 * The store as the suite sees it here, without `watchRevocations`: its one XREAD over
 * every shard's stream needs them on one server, which a Cluster does not allow (README,
 * "Redis Cluster"); the suite then skips the watching case. Everything else is the store's.
 */
function withoutWatching(store: RedisStore): StoreUnderTest {
  const sessions = new Proxy(store.sessions, {
    get(target, property) {
      if (property === "watchRevocations") return undefined;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const { accounts, keys, audit, limits, replay } = store;
  return {
    sessions,
    accounts,
    keys,
    audit,
    limits,
    replay,
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

runStoreConformance(
  "redis on a one-node cluster",
  async () => {
    const { store, cleanup } = await openRedisTestStore(server);
    return { store: withoutWatching(store), cleanup };
  },
  { modelRuns: 30 },
);

const session = (id: string, subjectId: string): SessionRecord =>
  sessionRecord({
    id,
    subjectId,
    deviceName: null,
    userAgent: null,
    ip: null,
    idleExpiresAt: T0 + DAY,
    absoluteExpiresAt: T0 + 2 * DAY,
  });

describe("Redis store: key layout on a cluster", () => {
  it("keeps each subject, its sessions and the stream of its revocations in one slot, and spreads subjects", async () => {
    const { store, prefix, cleanup } = await openRedisTestStore(server);
    const admin = new Redis(server.url, { maxRetriesPerRequest: 0 });
    try {
      const sessions = store.sessions;
      const subjects = Array.from({ length: 8 }, (_, i) => `user-${i}`);
      for (const [i, subjectId] of subjects.entries()) {
        await sessions.ensureSubject(subjectId, T0);
        for (const n of [0, 1, 2]) await sessions.createSession(session(`s-${i}-${n}`, subjectId));
        await sessions.rotate({
          sessionId: `s-${i}-0`,
          clientId: "web",
          generation: 0,
          presentedHash: "hash-0",
          successorHash: "hash-1",
          now: T0 + 1,
          graceMs: 0,
          idleTimeoutMs: DAY,
        });
        await sessions.revokeSession(`s-${i}-1`, "logout", T0 + 2);
        await sessions.bumpTokenVersion(subjectId, T0 + 3);
        await sessions.revokeSubjectSessions(subjectId, {
          exceptId: `s-${i}-0`,
          reason: "admin",
          now: T0 + 4,
        });
        await sessions.putHandoff({
          hash: `h-${i}`,
          subjectId,
          clientId: "web",
          deviceName: null,
          tokenVersion: 1,
          acr: null,
          amr: null,
          createdAt: T0,
          expiresAt: T0 + 60_000,
        });
        await store.accounts.createAccount({
          subjectId,
          username: `name-${i}`,
          passwordHash: null,
          createdAt: T0,
        });
        await store.keys.putKey({
          kid: `k-${i}`,
          alg: "EdDSA",
          privateKey: "{}",
          publicJwk: "{}",
          createdAt: T0,
          activatedAt: null,
          retiredAt: null,
        });
        await store.audit.record({
          id: `e-${i}`,
          type: "signed_in",
          subjectId,
          sessionId: null,
          at: T0,
          detail: {},
        });
        await store.limits.hit(`grant:${subjectId}`, 60_000, T0);
      }

      const slot = async (key: string) => Number(await admin.call("CLUSTER", "KEYSLOT", key));
      const keyspace = new Keyspace(prefix, 16);
      const subjectSlots = new Set<number>();
      for (const subjectId of subjects) {
        const base = keyspace.shard(keyspace.shardOf(subjectId));
        const expected = await slot(keyspace.subject(base, subjectId));
        subjectSlots.add(expected);
        expect(await slot(keyspace.sessionIndex(base, subjectId)), subjectId).toBe(expected);
        for (const n of [0, 1, 2]) {
          const id = `s-${subjects.indexOf(subjectId)}-${n}`;
          expect(await admin.exists(keyspace.session(base, id)), id).toBe(1);
          expect(await slot(keyspace.session(base, id)), id).toBe(expected);
        }
        expect(await slot(keyspace.ends(base))).toBe(expected);
        // Every change about this subject is in the stream of its own slot.
        const entries = await admin.xrange(keyspace.feed(base), "-", "+");
        const about = entries.filter(([, fields]) => fields.includes(subjectId));
        expect(about.length, subjectId).toBe(3);
        expect(await slot(keyspace.feed(base))).toBe(expected);
      }
      // Eight subjects over sixteen shards: a Cluster spreads them over several slots.
      expect(subjectSlots.size).toBeGreaterThan(1);

      // Each of the other concerns keeps the keys one script touches under one tag.
      const found = await admin.keys(`${prefix}*`);
      for (const tag of ["{accounts}", "{keys}", "{audit}", "{handoffs}"]) {
        const keys = found.filter((key) => key.startsWith(`${prefix}${tag}`));
        expect(keys.length, tag).toBeGreaterThan(1);
        expect(new Set(await Promise.all(keys.map(slot))).size, tag).toBe(1);
      }
    } finally {
      admin.disconnect();
      await cleanup();
    }
  });
});
