// @module-tag postgres
import type { SessionRecord } from "@prolong/core";
import { openPostgresStore, type PostgresStore } from "@prolong/store-postgres";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  openPostgresTestStore,
  type PostgresServer,
  type PostgresTestStore,
  startPostgresServer,
} from "../../../testing/postgres-server.js";
import { withAdmin } from "./admin.js";

const T0 = Date.UTC(2026, 0, 1);

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.close();
});

const teardown: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of teardown.splice(0).reverse()) await step();
});

async function testStore(): Promise<PostgresTestStore> {
  const opened = await openPostgresTestStore(server);
  teardown.push(async () => {
    await opened.store.close();
    await opened.cleanup();
  });
  return opened;
}

/** A second instance on the same schema: a pool of its own, as another server process has. */
function secondInstance(schema: string): PostgresStore {
  const store = openPostgresStore({ connectionString: server.url, schema });
  teardown.push(() => store.close());
  return store;
}

let sessions = 0;

/** Revokes a new session through `store`: one change appended to its changelog. */
async function appendChange(store: PostgresStore): Promise<void> {
  sessions += 1;
  const session: SessionRecord = {
    id: `s${sessions}`,
    subjectId: "u1",
    clientId: "web",
    deviceName: null,
    userAgent: null,
    ip: null,
    createdAt: T0,
    authTime: T0,
    lastActiveAt: T0,
    idleExpiresAt: T0 + 60_000,
    absoluteExpiresAt: null,
    tokenVersion: 0,
    generation: 0,
    currentHash: "h0",
    previousHash: null,
    rotatedAt: null,
    revokedAt: null,
    revokedReason: null,
    dpopJkt: null,
    deviceKey: null,
    acr: null,
    amr: null,
    actor: null,
  };
  await store.sessions.ensureSubject("u1", T0);
  await store.sessions.createSession(session);
  expect(await store.sessions.revokeSession(session.id, "admin", T0 + 1)).not.toBeNull();
}

/** A watcher that counts its wake-ups. */
function watch(store: PostgresStore) {
  const counter = { wakes: 0, stop: () => {} };
  counter.stop = store.sessions.watchRevocations?.(() => {
    counter.wakes += 1;
  }) as () => void;
  return counter;
}

/** The backends LISTENing for revocations, as the server lists them. */
async function listeners(): Promise<number> {
  return withAdmin(server, undefined, async (admin) => {
    const { rows } = await admin.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE query = 'LISTEN prolong_revocations'",
    );
    return Number(rows[0]?.n);
  });
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe("watchRevocations (LISTEN/NOTIFY)", () => {
  it("wakes a watcher on one instance when another instance commits a change", async () => {
    const { store, schema } = await testStore();
    const other = secondInstance(schema);
    const watcher = watch(store);
    // Once when its connection starts listening: anything appended before is not announced.
    await expect.poll(() => watcher.wakes, { timeout: 5000 }).toBe(1);

    await appendChange(other);
    await expect.poll(() => watcher.wakes, { timeout: 2000 }).toBeGreaterThanOrEqual(2);
    watcher.stop();
  });

  it("is not woken by changes of another schema on the same server", async () => {
    const { store, schema } = await testStore();
    const elsewhere = await testStore();
    const watcher = watch(store);
    await expect.poll(() => watcher.wakes, { timeout: 5000 }).toBe(1);

    await appendChange(elsewhere.store);
    await settle();
    expect(watcher.wakes).toBe(1);
    await appendChange(secondInstance(schema));
    await expect.poll(() => watcher.wakes, { timeout: 2000 }).toBe(2);
    watcher.stop();
  });

  it("reconnects after a server restart, wakes its watchers then, and goes on waking on changes", async () => {
    const { store, schema } = await testStore();
    const watcher = watch(store);
    await expect.poll(() => watcher.wakes, { timeout: 5000 }).toBe(1);

    await server.stop();
    await server.start();
    // Notifications sent while it was away are lost: the wake-up after reconnecting makes
    // readers catch up from their cursor.
    await expect.poll(() => watcher.wakes, { timeout: 10_000 }).toBe(2);

    await appendChange(secondInstance(schema));
    await expect.poll(() => watcher.wakes, { timeout: 2000 }).toBe(3);
    watcher.stop();
  });

  it("stops listening when the last watcher leaves, and when the store closes", async () => {
    const { store, schema } = await testStore();
    const other = secondInstance(schema);
    const first = watch(store);
    const second = watch(store);
    await expect.poll(() => first.wakes, { timeout: 5000 }).toBe(1);
    await expect.poll(() => second.wakes, { timeout: 5000 }).toBe(1);
    expect(await listeners()).toBe(1); // one connection, however many watchers

    first.stop();
    await appendChange(other);
    await expect.poll(() => second.wakes, { timeout: 2000 }).toBe(2);
    expect(first.wakes).toBe(1);

    second.stop();
    await expect.poll(listeners, { timeout: 2000 }).toBe(0);
    await appendChange(other);
    await settle();
    expect(second.wakes).toBe(2);

    const third = watch(store);
    await expect.poll(() => third.wakes, { timeout: 5000 }).toBe(1);
    await store.close();
    await expect.poll(listeners, { timeout: 2000 }).toBe(0);
  });
});
