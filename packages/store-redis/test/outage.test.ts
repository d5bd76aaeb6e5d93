// @module-tag redis-server
import { isProlongError, type SessionRecord } from "@prolong/core";
import { sessionRecord } from "@prolong/store-conformance";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openRedisTestStore, type RedisServer, startRedisServer } from "../../../testing/redis-server.js";

// A server of its own: these tests stop and restart it. Nothing is persisted, so it
// comes back empty, as a cache-configured Redis would after a crash.
const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const TIMEOUT = 500;

let server: RedisServer;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});

afterEach(async () => {
  // Whatever a test did to it, the next one finds the server running.
  await server.start().catch(() => {});
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

afterAll(async () => {
  await server?.close();
});

async function open(options: { keyPrefix?: string } = {}) {
  const opened = await openRedisTestStore(server, { commandTimeout: TIMEOUT, ...options });
  cleanups.push(opened.cleanup);
  return opened;
}

const session = (id: string): SessionRecord =>
  sessionRecord({
    id,
    deviceName: null,
    userAgent: null,
    ip: null,
    idleExpiresAt: T0 + DAY,
    absoluteExpiresAt: null,
  });

/** How an operation ended, and after how many ms. */
async function settle(operation: () => Promise<unknown>): Promise<{ outcome: unknown; ms: number }> {
  const started = Date.now();
  const outcome = await operation().then(
    () => "resolved",
    (error: unknown) => error,
  );
  return { outcome, ms: Date.now() - started };
}

/** The server's connections, one line each (CLIENT LIST), through a connection of its own. */
async function listClients(): Promise<string[]> {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 0 });
  try {
    return ((await redis.call("CLIENT", "LIST")) as string).split("\n");
  } finally {
    redis.disconnect();
  }
}

const unavailable = (outcome: unknown) => isProlongError(outcome, "store_unavailable");

describe("Redis store: the server goes away and comes back", () => {
  it("fails every operation with store_unavailable within the command timeout, then works again by itself", async () => {
    const { store } = await open();
    const s = session("s-outage");
    await store.sessions.ensureSubject(s.subjectId, T0);
    await store.sessions.createSession(s);

    // Stopped mid-use: operations in flight and new ones all settle, none hangs.
    const inFlight = Array.from({ length: 20 }, (_, i) =>
      settle(() =>
        i % 2
          ? store.sessions.rotate({
              sessionId: s.id,
              clientId: "web",
              generation: 0,
              presentedHash: "hash-0",
              successorHash: "hash-1",
              now: T0 + 1,
              graceMs: 30_000,
              idleTimeoutMs: DAY,
            })
          : store.ping(),
      ),
    );
    await server.stop();
    for (const { outcome } of await Promise.all(inFlight)) {
      expect(outcome === "resolved" || unavailable(outcome), String(outcome)).toBe(true);
    }
    for (const operation of [
      () => store.ping(),
      () => store.sessions.readSession(s.id),
      () => store.sessions.revokeSession(s.id, "logout", T0 + 2),
      () => store.sessions.readRevocations({ after: null, limit: 10 }),
      () => store.keys.claimSecret("mac", "x"),
      () => store.limits.hit("k", 60_000, T0),
    ]) {
      const { outcome, ms } = await settle(operation);
      expect(unavailable(outcome), String(outcome)).toBe(true);
      expect((outcome as Error).cause).toBeInstanceOf(Error);
      expect(ms).toBeLessThan(TIMEOUT + 250);
    }

    await server.start();
    await expect
      .poll(async () => (await settle(() => store.ping())).outcome, { timeout: 5000 })
      .toBe("resolved");
    // Back, empty (nothing was persisted), and serving every concern through the same store.
    await store.sessions.ensureSubject(s.subjectId, T0);
    await store.sessions.createSession(s);
    expect((await store.sessions.revokeSession(s.id, "logout", T0 + 3))?.revokedAt).toBe(T0 + 3);
    expect((await store.sessions.readRevocations({ after: null, limit: 10 })).changes).toHaveLength(1);
    expect(await store.keys.claimSecret("mac", "y")).toBe("y");
  });

  it("wakes a watcher in another instance on each change, and again after Redis restarted", async () => {
    const watching = await open();
    const writing = await open({ keyPrefix: watching.prefix });
    const sessions = writing.store.sessions;
    let wakes = 0;
    const stop = watching.store.sessions.watchRevocations?.(() => {
      wakes += 1;
    });
    if (!stop) throw new Error("the Redis store offers watching");
    try {
      // The watcher wakes once when it is ready (changes made before it watched); let it settle.
      await expect.poll(() => wakes, { timeout: 2000 }).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 200));

      const revokeOne = async (id: string) => {
        await sessions.ensureSubject("subject-1", T0);
        await sessions.createSession(session(id));
        const before = wakes;
        await sessions.revokeSession(id, "logout", T0 + 1);
        await expect.poll(() => wakes, { timeout: 2000 }).toBeGreaterThan(before);
      };
      await revokeOne("s-1");
      // A bump is a change too, made by the other instance.
      const before = wakes;
      await sessions.bumpTokenVersion("subject-1", T0 + 2);
      await expect.poll(() => wakes, { timeout: 2000 }).toBeGreaterThan(before);

      await server.stop();
      const down = wakes;
      await server.start();
      // Back: the watcher wakes by itself (changes may have been made meanwhile) ...
      await expect.poll(() => wakes, { timeout: 5000 }).toBeGreaterThan(down);
      // ... and keeps waking on changes made after the restart.
      await expect
        .poll(async () => (await settle(() => writing.store.ping())).outcome, { timeout: 5000 })
        .toBe("resolved");
      await revokeOne("s-2");
    } finally {
      stop();
    }
  });

  it("watches on one connection of its own, closed when the last watcher leaves and when the store closes", async () => {
    const { store } = await open();
    const watchConnections = async () =>
      (await listClients()).filter((line) => / name=prolong-watch /.test(line)).length;
    const first = store.sessions.watchRevocations?.(() => {});
    const second = store.sessions.watchRevocations?.(() => {});
    await expect.poll(watchConnections, { timeout: 2000 }).toBe(1);
    first?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await watchConnections()).toBe(1);
    second?.();
    await expect.poll(watchConnections, { timeout: 2000 }).toBe(0);

    store.sessions.watchRevocations?.(() => {});
    await expect.poll(watchConnections, { timeout: 2000 }).toBe(1);
    await store.close();
    await expect.poll(watchConnections, { timeout: 2000 }).toBe(0);
  });
});
