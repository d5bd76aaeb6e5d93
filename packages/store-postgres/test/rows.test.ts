// @module-tag postgres
import type { SessionRecord } from "@prolong/core";
import { sessionRecord } from "@prolong/store-conformance";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  openPostgresTestStore,
  type PostgresServer,
  type PostgresTestStore,
  startPostgresServer,
} from "../../../testing/postgres-server.js";
import { withAdmin } from "./admin.js";

// Past 2^31 (where a 32-bit integer would overflow) and near 2^53, within the safe integers.
const T0 = Date.UTC(2026, 0, 1);
const FAR = 2 ** 52 + 1;

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.close();
});

let opened: PostgresTestStore | null = null;
afterEach(async () => {
  await opened?.store.close();
  await opened?.cleanup();
  opened = null;
});

async function testStore(): Promise<PostgresTestStore> {
  opened = await openPostgresTestStore(server);
  return opened;
}

const session = (overrides: Partial<SessionRecord>): SessionRecord =>
  sessionRecord({
    id: "s1",
    subjectId: "u1",
    deviceName: "phone",
    userAgent: "agent",
    currentHash: "h0",
    idleExpiresAt: FAR,
    absoluteExpiresAt: FAR,
    ...overrides,
  });

describe("rows as the contract types them", () => {
  it("gives millisecond times as numbers, exactly, from bigint columns", async () => {
    const { store } = await testStore();
    await store.sessions.ensureSubject("u1", T0);
    await store.sessions.createSession(session({}));
    const read = await store.sessions.readSession("s1");
    expect(read?.session.idleExpiresAt).toBe(FAR);
    expect(read?.session.createdAt).toBe(T0);
    expect(typeof read?.subject.createdAt).toBe("number");
    expect(await store.limits.hit("k", 60_000, FAR - 60_000)).toEqual({ count: 1, resetAt: FAR });
  });

  it("keeps claims and event details as the objects written, a \\u0000 in a string included", async () => {
    const { store } = await testStore();
    const claims = { roles: ["admin"], nested: { n: 1.5, empty: null, nul: "a\u0000b" } };
    await store.sessions.ensureSubject("u1", T0);
    expect((await store.sessions.updateSubject("u1", { claims }, T0 + 1))?.claims).toEqual(claims);
    expect((await store.sessions.findSubject("u1"))?.claims).toEqual(claims);
    const detail = { userAgent: "evil\u0000agent", ip: "192.0.2.1", attempts: 3 };
    await store.audit.record({
      id: "e1",
      type: "signed_in",
      subjectId: "u1",
      sessionId: null,
      at: T0,
      detail,
    });
    expect((await store.audit.list({ limit: 1 })).events[0]?.detail).toEqual(detail);
  });

  it("leaves the driver's global type parsers alone: bigint stays a string for the application's own queries", async () => {
    const { store } = await testStore();
    await store.ping();
    expect(pg.types.getTypeParser(20, "text")("9007199254740993")).toBe("9007199254740993");
    const value = await withAdmin(server, undefined, async (client) => {
      const { rows } = await client.query("SELECT 9007199254740993::bigint AS n");
      return rows[0]?.n;
    });
    expect(value).toBe("9007199254740993");
  });

  it("orders session ids by code point, whatever the database's collation", async () => {
    // The test server's default collation is ICU en-US, which sorts "_b" < "a" < "B" < "b".
    const { store } = await testStore();
    const ids = ["B", "a", "_b", "b", "Z"];
    await store.sessions.ensureSubject("u1", T0);
    for (const id of ids) await store.sessions.createSession(session({ id }));
    const listed = await store.sessions.listSessions("u1", T0);
    expect(listed.map((s) => s.id)).toEqual(["b", "a", "_b", "Z", "B"]);
    const page = await store.sessions.listSessions("u1", T0, { after: { createdAt: T0, id: "_b" } });
    expect(page.map((s) => s.id)).toEqual(["Z", "B"]);
  });

  it("commits a heartbeat on every ping", async () => {
    const { store, schema } = await testStore();
    const beats = () =>
      withAdmin(server, schema, async (client) => {
        const { rows } = await client.query("SELECT beats FROM heartbeat");
        return rows[0]?.beats;
      });
    await store.ping();
    await store.ping();
    expect(await beats()).toBe("2");
  });
});
