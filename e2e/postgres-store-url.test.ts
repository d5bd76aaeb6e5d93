import type { Store } from "@prolong/core";
import { openStore } from "@prolong/server";
import { migratePostgres } from "@prolong/store-postgres";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgresServer, testSchemaName } from "../testing/postgres-server.js";

// What a `postgres://` store URL says reaches the store: prolong's own parameters
// (`schema`, `max`, `statementTimeout`, `connectionTimeout`) against a real PostgreSQL,
// read back from the server's view of the connections.

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
}, 120_000);
afterAll(() => server?.close());

const opened: Store[] = [];
const lockers: pg.Client[] = [];
afterEach(async () => {
  for (const locker of lockers.splice(0)) await locker.end().catch(() => {});
  for (const store of opened.splice(0)) await store.close();
});

/** A migrated store in a fresh schema, opened from `params` added to the server's URL. */
async function storeWith(params: Record<string, string>): Promise<{ store: Store; schema: string }> {
  const schema = testSchemaName();
  const url = `${server.url}?${new URLSearchParams({ schema, ...params })}`;
  await migratePostgres({ connectionString: server.url, schema });
  const store = await openStore(url);
  opened.push(store);
  await store.ping();
  return { store, schema };
}

/** Another connection holding `schema`'s heartbeat table locked, so every store write waits. */
async function lockHeartbeat(schema: string): Promise<pg.Client> {
  const locker = new pg.Client({ connectionString: server.url });
  lockers.push(locker);
  await locker.connect();
  await locker.query("BEGIN");
  await locker.query(`LOCK TABLE "${schema}".heartbeat IN ACCESS EXCLUSIVE MODE`);
  return locker;
}

/** Connections of the store (application `prolong`) waiting on a lock now. */
async function waitingConnections(): Promise<number> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'prolong' AND wait_event_type = 'Lock'",
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a postgres:// store URL", () => {
  it("sizes the connection pool with max", async () => {
    const { store, schema } = await storeWith({ max: "3", statementTimeout: "60000" });
    const locker = await lockHeartbeat(schema);
    // Six writes at once: each holds a connection while it waits, as many as the pool has.
    const writes = Array.from({ length: 6 }, () => store.ping());
    await expect.poll(waitingConnections, { timeout: 15_000 }).toBe(3);
    await sleep(300);
    expect(await waitingConnections()).toBe(3);
    await locker.query("COMMIT");
    await Promise.all(writes);
  }, 60_000);

  it("limits each statement with statementTimeout", async () => {
    const { store, schema } = await storeWith({ max: "1", statementTimeout: "200" });
    const locker = await lockHeartbeat(schema);
    // The default, 5 s, would outwait this test's lock; 200 ms does not.
    const outcome = await Promise.race([
      store.ping().then(
        () => "written",
        (error: { code?: string }) => error.code,
      ),
      sleep(4000).then(() => "still waiting"),
    ]);
    await locker.query("COMMIT");
    expect(outcome).toBe("store_unavailable");
  }, 60_000);

  it("refuses a parameter that is not a number, or out of range, naming it", async () => {
    await expect(openStore(`${server.url}?max=lots`)).rejects.toThrow(
      'store: max: must be a whole number, got "lots"',
    );
    await expect(openStore(`${server.url}?statementTimeout=-1`)).rejects.toThrow("statementTimeout");
    await expect(openStore(`${server.url}?max=0`)).rejects.toMatchObject({
      code: "invalid_config",
      message: expect.stringContaining("max: must be an integer from 1 to 1000"),
    });
  });
});
