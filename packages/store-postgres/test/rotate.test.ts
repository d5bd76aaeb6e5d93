// @module-tag postgres
import type { RotateRequest, SessionRecord } from "@prolong/core";
import { sessionRecord } from "@prolong/store-conformance";
import { openPostgresStore, type PostgresStore } from "@prolong/store-postgres";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  openPostgresTestStore,
  type PostgresServer,
  startPostgresServer,
} from "../../../testing/postgres-server.js";
import { withAdmin } from "./admin.js";

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.close();
});

/** Stores opened by a test, closed after it (their schemas dropped). */
const opened: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of opened.splice(0).reverse()) await close();
});

/** `count` stores on one fresh schema, each with a pool of its own, as separate server instances have. */
async function instances(count: number): Promise<{ stores: PostgresStore[]; schema: string }> {
  const first = await openPostgresTestStore(server, { max: 10 });
  opened.push(async () => {
    await first.store.close();
    await first.cleanup();
  });
  const stores = [first.store];
  for (let i = 1; i < count; i++) {
    const store = openPostgresStore({ connectionString: server.url, schema: first.schema, max: 10 });
    opened.push(() => store.close());
    stores.push(store);
  }
  // Every connection open before the test starts, so racing calls reach the server
  // together instead of one connection set-up apart.
  await Promise.all(
    stores.flatMap((s) => Array.from({ length: 10 }, () => s.sessions.findSubject("warm-up"))),
  );
  return { stores, schema: first.schema };
}

const session = (): SessionRecord =>
  sessionRecord({
    id: "s1",
    subjectId: "u1",
    deviceName: null,
    userAgent: null,
    ip: null,
    currentHash: "h0",
    idleExpiresAt: T0 + DAY,
    absoluteExpiresAt: null,
  });

const request = (overrides: Partial<RotateRequest> = {}): RotateRequest => ({
  sessionId: "s1",
  clientId: "web",
  generation: 0,
  presentedHash: "h0",
  successorHash: "h1",
  now: T0 + 1000,
  graceMs: 30_000,
  idleTimeoutMs: DAY,
  ...overrides,
});

function tally(statuses: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

describe("rotate across instances", () => {
  it("settles 50 concurrent rotations of one token from three pools on one successor, never revoking", async () => {
    const { stores } = await instances(3);
    const [a] = stores as [PostgresStore];
    await a.sessions.ensureSubject("u1", T0);
    await a.sessions.createSession(session());

    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (stores[i % 3] as PostgresStore).sessions.rotate(request())),
    );
    expect(tally(outcomes.map((o) => o.status))).toEqual({ rotated: 1, replayed: 49 });
    const stored = await a.sessions.readSession("s1");
    expect(stored?.session).toMatchObject({
      generation: 1,
      currentHash: "h1",
      previousHash: "h0",
      revokedAt: null,
    });
    expect((await a.sessions.readRevocations({ after: null, limit: 10 })).changes).toEqual([]);
  });

  it("revokes once on reuse, with exactly one changelog entry, however many instances present the old token", async () => {
    const { stores } = await instances(3);
    const [a] = stores as [PostgresStore];
    await a.sessions.ensureSubject("u1", T0);
    await a.sessions.createSession(session());
    expect((await a.sessions.rotate(request())).status).toBe("rotated");
    expect(
      (await a.sessions.rotate(request({ generation: 1, presentedHash: "h1", successorHash: "h2" }))).status,
    ).toBe("rotated");

    // Generation 0 again, after its successor was used and past the grace window (inside
    // it, two generations behind is a straggler): a stolen token replayed.
    const reuseAt = T0 + 1000 + 30_001;
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (stores[i % 3] as PostgresStore).sessions.rotate(request({ now: reuseAt })),
      ),
    );
    expect(tally(outcomes.map((o) => o.status))).toEqual({ reused: 1, revoked: 29 });
    const { changes } = await a.sessions.readRevocations({ after: null, limit: 10 });
    expect(changes.map(({ cursor: _cursor, ...change }) => change)).toEqual([
      { kind: "revoked", sessionId: "s1", subjectId: "u1", at: reuseAt },
    ]);
    expect((await a.sessions.readSession("s1"))?.session).toMatchObject({
      revokedAt: reuseAt,
      revokedReason: "reuse",
    });
  });
});

describe("revocation changelog across instances", () => {
  it("never shows a reader a change before one that commits earlier in cursor order", async () => {
    const { stores, schema } = await instances(2);
    const [a, b] = stores as [PostgresStore, PostgresStore];
    for (const id of ["s1", "s2"]) {
      await a.sessions.ensureSubject("u1", T0);
      await a.sessions.createSession({ ...session(), id });
    }
    const start = await a.sessions.readRevocations({ after: null, limit: 10 });

    await withAdmin(server, schema, async (slow) => {
      // A revocation whose transaction stays open: it has appended, not committed.
      await slow.query("BEGIN");
      await slow.query("SELECT * FROM revoke_session('s1', 'admin', $1)", [T0 + 1]);

      // Another instance revokes meanwhile: it must wait for the first to commit, or a
      // reader could take its cursor past the first change and never see it.
      const second = b.sessions.revokeSession("s2", "admin", T0 + 2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const during = await a.sessions.readRevocations({ after: start.cursor, limit: 10 });
      expect(during.changes).toEqual([]);

      await slow.query("COMMIT");
      expect((await second)?.id).toBe("s2");
      const after = await a.sessions.readRevocations({ after: during.cursor, limit: 10 });
      expect(after.changes.map((c) => (c.kind === "revoked" ? c.sessionId : c.kind))).toEqual(["s1", "s2"]);
    });
  });
});
