import type { Store } from "@prolong/core";
import { openStore, redactStoreSpec } from "@prolong/server";
import { migratePostgres } from "@prolong/store-postgres";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgresServer, testSchemaName } from "../testing/postgres-server.js";
import { freePort, type RunningServer, runCli, startServerProcess } from "./server-process.js";

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

// A store URL often holds the database's password; consoles and logs are often shared
// and kept. The real command is run with one and never prints it.
describe("a store URL's password", () => {
  const PASSWORD = "pw-in-the-url-7f3a";
  let running: RunningServer | null = null;
  afterEach(async () => {
    await running?.stop();
    running = null;
  });

  /** The server's URL with a user and password (trust authentication lets any password in). */
  const withPassword = (params: Record<string, string>) => {
    const url = new URL(server.url);
    url.password = PASSWORD;
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return url.href;
  };

  it("is never printed by prolong migrate, users, serve or its logs", async () => {
    const store = withPassword({ schema: testSchemaName(), max: "4" });
    const printed: string[] = [];
    const migrate = await runCli(["migrate", "--store", store]);
    expect(migrate.code, migrate.stderr).toBe(0);
    printed.push(migrate.stdout, migrate.stderr);
    const add = await runCli([
      "users",
      "add",
      "maryo",
      "--password",
      "correct horse battery",
      "--store",
      store,
    ]);
    expect(add.code, add.stderr).toBe(0);
    printed.push(add.stdout, add.stderr);

    // At info level, so the log lines of a request and of the shutdown are printed too.
    running = await startServerProcess(["--store", store], { PROLONG_LOG_LEVEL: "info" });
    const login = await fetch(`${running.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "maryo", password: "correct horse battery" }),
    });
    expect(login.status).toBe(200);
    const stopped = running;
    expect(await running.stop()).toBe(0);
    running = null;
    printed.push(stopped.stdout(), stopped.stderr());
    expect(stopped.stdout()).toContain(`store ${store.replace(PASSWORD, "***")}`);

    // A server it cannot reach: the start fails, saying why, without the password.
    const closed = new URL(store);
    closed.port = String(await freePort());
    const down = await runCli([
      "serve",
      "--port",
      "0",
      "--issuer",
      "http://127.0.0.1",
      "--store",
      closed.href,
    ]);
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/PostgreSQL/);
    printed.push(down.stdout, down.stderr);
    // A bad parameter is named, the URL is not repeated.
    const bad = await runCli(["users", "list", "--store", `${store}&statementTimeout=soon`]);
    expect(bad.stderr).toContain('store: statementTimeout: must be a whole number, got "soon"');
    printed.push(bad.stdout, bad.stderr);

    for (const output of printed) expect(output).not.toContain(PASSWORD);
  }, 120_000);

  it("is replaced by *** wherever a store spec is shown", () => {
    expect(redactStoreSpec("postgres://prolong:s3cret@db.internal:5432/prolong?schema=p&max=20")).toBe(
      "postgres://prolong:***@db.internal:5432/prolong?schema=p&max=20",
    );
    expect(redactStoreSpec("redis://:s3cret@127.0.0.1:6379/2?prefix=app:")).toBe(
      "redis://:***@127.0.0.1:6379/2?prefix=app:",
    );
    expect(redactStoreSpec("postgresql://prolong@db/prolong?password=s3cret")).toBe(
      "postgresql://prolong@db/prolong?password=***",
    );
    expect(redactStoreSpec("postgres://prolong@db/prolong")).toBe("postgres://prolong@db/prolong");
    expect(redactStoreSpec("sqlite:./data/prolong.db")).toBe("sqlite:./data/prolong.db");
    expect(redactStoreSpec("memory:")).toBe("memory:");
  });
});
