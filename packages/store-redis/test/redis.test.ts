// @module-tag redis-server
import { isProlongError, type SessionRecord } from "@prolong/core";
import { rotateRequest as rotation, sessionRecord } from "@prolong/store-conformance";
import { openRedisStore, type RedisStore } from "@prolong/store-redis";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openRedisTestStore, type RedisServer, startRedisServer } from "../../../testing/redis-server.js";
import { Keyspace } from "../src/keyspace.js";
import { classifyFailure } from "../src/unavailable.js";

// The tests' clock, as the engine's tests keep it: months before Redis's own clock, so a
// TTL computed as an instant (PEXPIREAT) from these times would already be past.
const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const DAY = 86_400_000;
/** The default retention: an ended session stays 30 days. */
const RETENTION = 30 * DAY;

let server: RedisServer;
let admin: Redis;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url, { maxRetriesPerRequest: 0 });
});

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

afterAll(async () => {
  admin?.disconnect();
  await server?.close();
});

/** Stores on the test server; several opened with one prefix share the same data. */
async function open(options: { keyPrefix?: string; commandTimeout?: number } = {}) {
  const opened = await openRedisTestStore(server, options);
  cleanups.push(opened.cleanup);
  return opened;
}

const session = (overrides: Partial<SessionRecord> = {}): SessionRecord =>
  sessionRecord({ id: `s-${Math.random().toString(36).slice(2)}`, userAgent: null, ip: null, ...overrides });

async function addSession(store: RedisStore, session: SessionRecord): Promise<void> {
  await store.sessions.ensureSubject(session.subjectId, session.createdAt);
  await store.sessions.createSession(session);
}

function tally(statuses: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** Entries of every changelog stream under `prefix`, as Redis holds them. */
async function streamEntries(prefix: string): Promise<number> {
  const keys = new Keyspace(prefix, 16);
  const lengths = await Promise.all(keys.allShards().map((base) => admin.xlen(keys.feed(base))));
  return lengths.reduce((a, b) => a + b, 0);
}

async function failure(operation: Promise<unknown>): Promise<unknown> {
  return operation.then(
    () => "resolved",
    (error: unknown) => error,
  );
}

describe("Redis store: races between processes", () => {
  it("settles 50 concurrent rotations of one token from 3 store instances on one successor, never revoking", async () => {
    const first = await open();
    const others = [await open({ keyPrefix: first.prefix }), await open({ keyPrefix: first.prefix })];
    const stores = [first.store, ...others.map((o) => o.store)];
    const s = session();
    await addSession(first.store, s);
    await Promise.all(stores.map((store) => store.ping()));
    // Three instances, three connections of their own to the one server.
    const clients = ((await admin.call("CLIENT", "LIST")) as string).split("\n");
    expect(clients.filter((line) => / name=prolong /.test(line)).length).toBeGreaterThanOrEqual(3);

    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (stores[i % 3] as RedisStore).sessions.rotate(rotation(s))),
    );
    expect(tally(outcomes.map((o) => o.status))).toEqual({ rotated: 1, replayed: 49 });
    const stored = await others[1]?.store.sessions.readSession(s.id);
    expect(stored?.session).toMatchObject({ generation: 1, currentHash: "hash-1", revokedAt: null });
    expect(await streamEntries(first.prefix)).toBe(0);
  });

  it("revokes a reused session once, with exactly one changelog entry, however many instances see the reuse", async () => {
    const first = await open();
    const second = await open({ keyPrefix: first.prefix });
    const s = session();
    await addSession(first.store, s);
    const r1 = await first.store.sessions.rotate(rotation(s));
    if (r1.status !== "rotated") throw new Error(r1.status);
    const r2 = await second.store.sessions.rotate(rotation(r1.session, { now: T0 + 2 * MINUTE }));
    expect(r2.status).toBe("rotated");

    // The generation-0 token again, well after the grace window, from both instances at once.
    const reuseAt = T0 + 10 * MINUTE;
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? second : first).store.sessions.rotate(rotation(s, { now: reuseAt })),
      ),
    );
    expect(tally(outcomes.map((o) => o.status))).toEqual({ reused: 1, revoked: 9 });
    expect((await first.store.sessions.readSession(s.id))?.session).toMatchObject({
      revokedAt: reuseAt,
      revokedReason: "reuse",
    });
    const { changes } = await second.store.sessions.readRevocations({ after: null, limit: 10 });
    expect(changes.map(({ cursor: _, ...change }) => change)).toEqual([
      { kind: "revoked", sessionId: s.id, subjectId: s.subjectId, at: reuseAt },
    ]);
    expect(await streamEntries(first.prefix)).toBe(1);
  });
});

describe("Redis store: session limits", () => {
  it("keeps no pointer to a session a limit refused, and evicts in the subject's shard with the session's TTL kept", async () => {
    const { store, prefix } = await open();
    const keys = new Keyspace(prefix, 16);
    const old = session({ subjectId: "u-limited" });
    await addSession(store, old);
    const refused = session({ subjectId: "u-limited", createdAt: T0 + 1 });
    const limit = { max: 1, clientIds: ["web"], onLimit: "refuse" as const };
    expect(await store.sessions.createSession(refused, limit)).toEqual({ status: "refused", live: 1 });
    expect(await admin.exists(keys.pointer(refused.id))).toBe(0);
    const admitted = session({ subjectId: "u-limited", createdAt: T0 + 2 });
    expect(await store.sessions.createSession(admitted, { ...limit, onLimit: "evict" })).toEqual({
      status: "created",
      evicted: [old.id],
    });
    const base = keys.shard(keys.shardOf("u-limited"));
    // The evicted session stays for retention after its revocation, as any revoked one.
    const ttl = await admin.pttl(keys.session(base, old.id));
    expect(ttl).toBeGreaterThan(RETENTION - MINUTE);
    expect(ttl).toBeLessThanOrEqual(RETENTION);
    expect(await admin.exists(keys.pointer(admitted.id))).toBe(1);
  });
});

describe("Redis store: expiry", () => {
  it("gives session keys TTLs relative to the caller's clock: the session's end plus retention, never past", async () => {
    const { store, prefix } = await open();
    const keys = new Keyspace(prefix, 16);
    const s = session({ idleExpiresAt: T0 + 7 * DAY, absoluteExpiresAt: T0 + 30 * DAY });
    await addSession(store, s);
    const base = keys.shard(keys.shardOf(s.subjectId));
    const sessionKey = keys.session(base, s.id);
    const indexKey = keys.sessionIndex(base, s.subjectId);
    const near = (ttl: number, expected: number) => {
      // A few seconds for the time the test takes between the write and the read.
      expect(ttl).toBeGreaterThan(expected - 10_000);
      expect(ttl).toBeLessThanOrEqual(expected);
    };

    // Created at T0: ends with the idle deadline, 7 days on, then kept 30 more.
    near(await admin.pttl(sessionKey), 7 * DAY + RETENTION);
    expect(await admin.pttl(indexKey)).toBeGreaterThanOrEqual(await admin.pttl(sessionKey));
    // The pointer lives as long as the session could: its absolute limit, retention, a day.
    near(await admin.pttl(keys.pointer(s.id)), 30 * DAY + RETENTION + DAY);
    // Redis's clock is past T0 + 7 days, yet the key expires in the future.
    const [seconds] = (await admin.time()) as [string | number, string | number];
    expect(Number(seconds) * 1000).toBeGreaterThan(T0 + 7 * DAY);
    expect(await admin.pexpiretime(sessionKey)).toBeGreaterThan(Number(seconds) * 1000);

    // A rotation a day later slides the idle deadline, and the TTL with it.
    const rotated = await store.sessions.rotate(rotation(s, { now: T0 + DAY }));
    expect(rotated.status).toBe("rotated");
    near(await admin.pttl(sessionKey), 7 * DAY + RETENTION);
    // Touched every 6 days: each slides it 7 days on, until the absolute limit caps it.
    for (const day of [6, 12, 18, 24]) {
      expect(await store.sessions.touchSession(s.id, T0 + day * DAY, 7 * DAY)).not.toBeNull();
    }
    // At day 24 it ends with its absolute limit, 6 days on, not 7.
    near(await admin.pttl(sessionKey), 6 * DAY + RETENTION);
    // Revoked: it ended now, and stays for retention only.
    await store.sessions.revokeSession(s.id, "logout", T0 + 29 * DAY);
    near(await admin.pttl(sessionKey), RETENTION);
    // The index keeps the longest TTL any of its sessions had.
    expect(await admin.pttl(indexKey)).toBeGreaterThan(RETENTION + DAY);
  });

  it("never gives a session without an absolute limit a TTL shorter than its idle deadline plus retention", async () => {
    const { store, prefix } = await open();
    const keys = new Keyspace(prefix, 16);
    const s = session({ absoluteExpiresAt: null, idleExpiresAt: T0 + 90 * DAY });
    await addSession(store, s);
    const base = keys.shard(keys.shardOf(s.subjectId));
    expect(await admin.pttl(keys.session(base, s.id))).toBeGreaterThan(90 * DAY + RETENTION - 10_000);
    // Its pointer has no TTL: purge deletes it with the session.
    expect(await admin.pttl(keys.pointer(s.id))).toBe(-1);
    expect(await store.sessions.purge(T0 + 91 * DAY)).toBe(1);
    expect(await admin.exists(keys.pointer(s.id), keys.session(base, s.id))).toBe(0);
    expect(await store.sessions.readSession(s.id)).toBeNull();
  });

  it("keeps an ended session for retention: listed with ended sessions, a rotation answers expired", async () => {
    const { store } = await open({});
    const s = session({ idleExpiresAt: T0 + MINUTE });
    await addSession(store, s);
    const later = T0 + 10 * DAY;
    expect((await store.sessions.rotate(rotation(s, { now: later }))).status).toBe("expired");
    expect((await store.sessions.listSessions(s.subjectId, later, { ended: true })).map((x) => x.id)).toEqual(
      [s.id],
    );
  });

  it("stores a rate-limit window's end and compares it with the caller's clock; the TTL only cleans up", async () => {
    const { store, prefix } = await open();
    const keys = new Keyspace(prefix, 16);
    expect(await store.limits.hit("pw:alice", MINUTE, T0)).toEqual({ count: 1, resetAt: T0 + MINUTE });
    const ttl = await admin.pttl(keys.limit("pw:alice"));
    expect(ttl).toBeGreaterThan(MINUTE - 10_000);
    expect(ttl).toBeLessThanOrEqual(MINUTE + 1000);
    // A hit in the same window neither restarts it nor stretches its TTL.
    expect(await store.limits.hit("pw:alice", MINUTE, T0 + 1000)).toEqual({ count: 2, resetAt: T0 + MINUTE });
    expect(await admin.pttl(keys.limit("pw:alice"))).toBeLessThanOrEqual(ttl);
  });
});

describe("Redis store: each operation is one script", () => {
  it("refreshes with one EVALSHA once the session's shard is known, and reads it with one GET first", async () => {
    const { store, prefix } = await open();
    const s = session();
    await addSession(store, s);
    const warm = openRedisStore({ url: server.url, keyPrefix: prefix });
    cleanups.push(() => warm.close());
    await warm.ping();

    const monitor = await admin.monitor();
    cleanups.push(async () => monitor.disconnect());
    const seen: string[][] = [];
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      // The store's own commands (scripts' inner ones come from "lua"), not the marker below.
      if (source !== "lua" && args[0]?.toLowerCase() !== "exists" && args.some((a) => a.startsWith(prefix))) {
        seen.push(args);
      }
    });
    // Monitoring starts asynchronously: wait until a marker command shows up.
    let marked = false;
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (args[1] === `${prefix}marker`) marked = true;
    });
    await expect
      .poll(async () => {
        await admin.exists(`${prefix}marker`);
        return marked;
      })
      .toBe(true);

    const first = await warm.sessions.rotate(rotation(s));
    expect(first.status).toBe("rotated");
    if (first.status !== "rotated") return;
    await warm.sessions.rotate(rotation(first.session, { now: T0 + 2 * MINUTE }));
    await expect.poll(() => seen.length).toBeGreaterThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const names = seen.map((args) => (args[0] as string).toLowerCase());
    // First refresh: where the session lives, then the script (EVAL once if Redis lacked it).
    expect(names[0]).toBe("get");
    expect(names.slice(1).filter((name) => name === "eval" || name === "evalsha").length).toBe(2);
    expect(names.filter((name) => name !== "eval" && name !== "evalsha")).toEqual(["get"]);
    expect(names.at(-1)).toBe("evalsha");
  });
});

describe("Redis store: outages it reports, not hides", () => {
  it("answers store_unavailable when Redis refuses writes for lack of memory, and reads go on", async () => {
    const { store } = await open();
    const s = session();
    await addSession(store, s);
    await admin.config("SET", "maxmemory-policy", "noeviction");
    await admin.config("SET", "maxmemory", "1");
    try {
      const error = await failure(store.sessions.revokeSession(s.id, "logout", T0 + 1));
      expect(isProlongError(error, "store_unavailable"), String(error)).toBe(true);
      expect((error as Error).message).toContain("OOM");
      expect(isProlongError(await failure(store.ping()), "store_unavailable")).toBe(true);
      expect((await store.sessions.readSession(s.id))?.session.revokedAt).toBeNull();
    } finally {
      await admin.config("SET", "maxmemory", "0");
    }
    expect((await store.sessions.revokeSession(s.id, "logout", T0 + 1))?.revokedAt).toBe(T0 + 1);
  });

  it("answers store_unavailable from a read-only replica", async () => {
    const { store } = await open();
    // Replica of a primary that is not there: Redis keeps serving reads, refuses writes.
    await admin.call("REPLICAOF", "127.0.0.1", "1");
    try {
      const error = await failure(store.sessions.ensureSubject("u1", T0));
      expect(isProlongError(error, "store_unavailable"), String(error)).toBe(true);
      expect((error as Error).message).toContain("READONLY");
      expect(await store.sessions.findSubject("u1")).toBeNull();
    } finally {
      await admin.call("REPLICAOF", "NO", "ONE");
    }
    expect((await store.sessions.ensureSubject("u1", T0)).id).toBe("u1");
  });

  it("answers store_unavailable within commandTimeout while Redis does not answer, and serves again after", async () => {
    const { store } = await open({ commandTimeout: 300 });
    await store.ping();
    await admin.call("CLIENT", "PAUSE", "1500", "ALL");
    const started = Date.now();
    const error = await failure(store.sessions.findSubject("u1"));
    expect(isProlongError(error, "store_unavailable"), String(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    await expect.poll(() => failure(store.ping()), { timeout: 5000, interval: 200 }).toBe("resolved");
  });

  it("classifies only outages as store_unavailable, and passes other errors on as they are", () => {
    const reply = (message: string) => Object.assign(new Error(message), { name: "ReplyError" });
    for (const message of [
      "LOADING Redis is loading the dataset in memory",
      "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
      "BUSY Redis is busy running a script.",
      "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    ]) {
      expect(isProlongError(classifyFailure(reply(message)), "store_unavailable"), message).toBe(true);
    }
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    expect(isProlongError(classifyFailure(refused), "store_unavailable")).toBe(true);
    expect((classifyFailure(refused) as Error).cause).toBe(refused);
    const wrongType = reply("WRONGTYPE Operation against a key holding the wrong kind of value");
    expect(classifyFailure(wrongType)).toBe(wrongType);
    const bug = new TypeError("x is not a function");
    expect(classifyFailure(bug)).toBe(bug);
  });
});

describe("the test server", () => {
  it("says to install redis-server when it is not on PATH, rather than skipping", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      await expect(startRedisServer()).rejects.toThrow(/install.*redis-server/);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe("Redis store: options", () => {
  const url = "redis://127.0.0.1:1";
  const problem = (options: Parameters<typeof openRedisStore>[0]) => {
    try {
      openRedisStore(options);
    } catch (error) {
      expect(isProlongError(error, "invalid_config"), String(error)).toBe(true);
      return (error as Error).message;
    }
    return "accepted";
  };

  it("refuses bad options with invalid_config naming the field, and never repeats the URL", () => {
    expect(problem({ url: "http://example.com" })).toMatch(/^redis store: url: /);
    expect(problem({ url: "not a url with a p4ssw0rd" })).not.toContain("p4ssw0rd");
    expect(problem({ url, keyPrefix: "{app}:" })).toMatch(/^redis store: keyPrefix: /);
    expect(problem({ url, keyPrefix: "x".repeat(65) })).toMatch(/^redis store: keyPrefix: /);
    expect(problem({ url, commandTimeout: 0 })).toMatch(/^redis store: commandTimeout: /);
    expect(problem({ url, commandTimeout: 1.5 })).toMatch(/^redis store: commandTimeout: /);
    expect(problem({ url, retention: 1000 })).toMatch(/^redis store: retention: /);
    expect(problem({ url, shards: 0 })).toMatch(/^redis store: shards: /);
  });

  it("keeps stores with different prefixes apart on one server", async () => {
    const a = await open();
    const b = await open();
    await a.store.sessions.ensureSubject("u1", T0);
    await a.store.keys.claimSecret("mac", "a");
    expect(await b.store.sessions.findSubject("u1")).toBeNull();
    expect(await b.store.keys.claimSecret("mac", "b")).toBe("b");
  });
});
