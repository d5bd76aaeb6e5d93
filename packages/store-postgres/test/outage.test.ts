import { createServer, type Server, type Socket } from "node:net";
import { isProlongError, ProlongError } from "@prolong/core";
import { openPostgresStore } from "@prolong/store-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../testing/free-port.js";
import {
  openPostgresTestStore,
  type PostgresServer,
  type PostgresTestStore,
  startPostgresServer,
} from "../../../testing/postgres-server.js";
import { classifyFailure } from "../src/unavailable.js";
import { adminClient, rejection, withAdmin } from "./admin.js";

const T0 = Date.UTC(2026, 0, 1);

/** An error shaped as node-postgres reports one: a SQLSTATE or socket code, or a bare message. */
function driverError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

describe("classifyFailure", () => {
  it("turns every failure of the server or the connection into store_unavailable, keeping the cause", () => {
    const outages = [
      driverError("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"),
      driverError("read ECONNRESET", "ECONNRESET"),
      driverError("write EPIPE", "EPIPE"),
      driverError("getaddrinfo EAI_AGAIN db", "EAI_AGAIN"),
      driverError("Connection terminated unexpectedly"),
      driverError("Connection terminated due to connection timeout"),
      driverError("timeout exceeded when trying to connect"),
      driverError("Client has encountered a connection error and is not queryable"),
      driverError("Cannot use a pool after calling end on the pool"),
      driverError("terminating connection due to administrator command", "57P01"),
      driverError("the database system is starting up", "57P03"),
      driverError("sorry, too many clients already", "53300"),
      driverError("could not extend file: No space left on device", "53100"),
      driverError("out of memory", "53200"),
      driverError("connection failure", "08006"),
      driverError("server rejected the connection", "08004"),
      driverError("canceling statement due to statement timeout", "57014"),
      driverError("canceling statement due to lock timeout", "55P03"),
      driverError("cannot execute INSERT in a read-only transaction", "25006"),
      driverError("could not read block", "58030"),
      new AggregateError([driverError("connect ECONNREFUSED ::1:5432", "ECONNREFUSED")], "connect failed"),
    ];
    for (const cause of outages) {
      const error = classifyFailure(cause);
      expect(isProlongError(error, "store_unavailable"), cause.message).toBe(true);
      expect((error as Error).cause).toBe(cause);
    }
  });

  it("passes every other error on as it is", () => {
    const others = [
      driverError('duplicate key value violates unique constraint "events_id_key"', "23505"),
      driverError('relation "sessions" does not exist', "42P01"),
      driverError('password authentication failed for user "prolong"', "28P01"),
      driverError('database "prolong" does not exist', "3D000"),
      driverError("invalid input syntax for type bigint", "22P02"),
      new TypeError("not a cursor of this store: x"),
      new ProlongError("invalid_config", "the schema is at version 0"),
    ];
    for (const error of others) expect(classifyFailure(error)).toBe(error);
  });
});

describe("outages of a real server", { tags: ["postgres"] }, () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgresServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Runs `body` with a fresh store, closing it and dropping its schema after. */
  async function withStore(
    options: Parameters<typeof openPostgresTestStore>[1],
    body: (opened: PostgresTestStore) => Promise<void>,
  ): Promise<void> {
    const opened = await openPostgresTestStore(server, options);
    try {
      await body(opened);
    } finally {
      await opened.store.close();
      await opened.cleanup();
    }
  }

  /** Starts a transaction that holds the heartbeat row's lock until `release` is called. */
  async function holdHeartbeat(schema: string) {
    const client = await adminClient(server, schema);
    await client.query("BEGIN");
    await client.query("SELECT * FROM heartbeat FOR UPDATE");
    return {
      release: async () => {
        await client.query("COMMIT").catch(() => {});
        await client.end().catch(() => {});
      },
    };
  }

  it("rejects with store_unavailable while the server is down, in flight or not, and serves again once it is back", async () => {
    await withStore({}, async ({ store, schema }) => {
      await store.ping(); // the heartbeat row exists
      await store.sessions.ensureSubject("u1", T0);
      const lock = await holdHeartbeat(schema);
      const inFlight = rejection(store.ping()); // waits for the lock when the server goes down
      await new Promise((resolve) => setTimeout(resolve, 100));
      await server.stop();
      try {
        const lost = await inFlight;
        expect(isProlongError(lost, "store_unavailable"), String(lost)).toBe(true);
        for (const operation of [
          store.ping(),
          store.sessions.findSubject("u1"),
          store.sessions.bumpTokenVersion("u1", T0 + 1),
          store.limits.hit("k", 60_000, T0),
        ]) {
          const error = await rejection(operation);
          expect(isProlongError(error, "store_unavailable"), String(error)).toBe(true);
          expect((error as Error).cause).toBeDefined();
        }
      } finally {
        await server.start();
        await lock.release();
      }
      // The same store, the same pool: new connections to the server that came back.
      await expect(store.ping()).resolves.toBeUndefined();
      expect((await store.sessions.bumpTokenVersion("u1", T0 + 2))?.tokenVersion).toBe(1);
    });
  });

  it("answers store_unavailable when the server terminates its connection mid-statement, then reconnects", async () => {
    await withStore({}, async ({ store, schema }) => {
      await store.ping();
      const lock = await holdHeartbeat(schema);
      try {
        const waiting = rejection(store.ping());
        await new Promise((resolve) => setTimeout(resolve, 100));
        await withAdmin(server, undefined, (admin) =>
          admin.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE application_name = 'prolong' AND query LIKE 'INSERT INTO heartbeat%'`,
          ),
        );
        const error = await waiting;
        expect(isProlongError(error, "store_unavailable"), String(error)).toBe(true);
        expect(((error as Error).cause as { code?: string }).code).toBe("57P01");
      } finally {
        await lock.release();
      }
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });

  it("answers store_unavailable when a statement runs past statementTimeout", async () => {
    await withStore({ statementTimeout: 200 }, async ({ store, schema }) => {
      await store.ping();
      const lock = await holdHeartbeat(schema);
      try {
        const started = Date.now();
        const error = await rejection(store.ping());
        expect(isProlongError(error, "store_unavailable"), String(error)).toBe(true);
        expect(((error as Error).cause as { code?: string }).code).toBe("57014");
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        await lock.release();
      }
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });

  it("answers store_unavailable for writes to a read-only server, and writes again on a fresh connection once it is writable", async () => {
    // One connection, so the test knows which one answered.
    await withStore({ max: 1 }, async ({ store }) => {
      await store.sessions.ensureSubject("u1", T0);
      await withAdmin(server, undefined, (admin) =>
        admin.query("ALTER DATABASE postgres SET default_transaction_read_only = on"),
      );
      try {
        // The pool's connection predates the setting: drop it, as a failover drops every one.
        await withAdmin(server, undefined, (admin) =>
          admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'prolong'",
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
        // Reads still work on a read-only server; writes do not.
        expect((await store.sessions.findSubject("u1"))?.id).toBe("u1");
        const error = await rejection(store.sessions.bumpTokenVersion("u1", T0 + 1));
        expect(isProlongError(error, "store_unavailable"), String(error)).toBe(true);
        expect(((error as Error).cause as { code?: string }).code).toBe("25006");
      } finally {
        await withAdmin(server, undefined, async (admin) => {
          // This connection opened read-only too.
          await admin.query("SET default_transaction_read_only = off");
          await admin.query("ALTER DATABASE postgres RESET default_transaction_read_only");
        });
      }
      // The connection that answered 25006 was discarded; the next one is writable.
      expect((await store.sessions.bumpTokenVersion("u1", T0 + 2))?.tokenVersion).toBe(1);
    });
  });

  it("answers store_unavailable when no server listens, or one accepts and never answers past connectionTimeout", async () => {
    const refused = openPostgresStore({
      connectionString: `postgres://prolong@127.0.0.1:${await freePort()}/prolong`,
    });
    try {
      const error = await rejection(refused.ping());
      expect(isProlongError(error, "store_unavailable"), String(error)).toBe(true);
    } finally {
      await refused.close();
    }

    // A peer that takes the connection and says nothing, as a server behind a dead network path.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    const stalled = openPostgresStore({
      connectionString: `postgres://prolong@127.0.0.1:${port}/prolong`,
      connectionTimeout: 300,
    });
    try {
      const started = Date.now();
      const error = await rejection(stalled.sessions.findSubject("u1"));
      expect(isProlongError(error, "store_unavailable"), String(error)).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await stalled.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
