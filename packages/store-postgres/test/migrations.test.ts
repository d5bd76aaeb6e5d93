// @module-tag postgres
import { isProlongError } from "@prolong/core";
import { sessionRecord } from "@prolong/store-conformance";
import { migratePostgres, openPostgresStore, SCHEMA_VERSION } from "@prolong/store-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  dropSchema,
  type PostgresServer,
  startPostgresServer,
  testSchemaName,
} from "../../../testing/postgres-server.js";
import { rejection, withAdmin } from "./admin.js";

const T0 = Date.UTC(2026, 0, 1);

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.close();
});

/** The versions `schema_migrations` of `schema` records, in order. */
async function recordedVersions(schema: string): Promise<number[]> {
  return withAdmin(server, schema, async (client) => {
    const { rows } = await client.query<{ version: number }>(
      "SELECT version FROM schema_migrations ORDER BY version",
    );
    return rows.map((row) => row.version);
  });
}

async function schemaExists(schema: string): Promise<boolean> {
  return withAdmin(server, undefined, async (client) => {
    const { rowCount } = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    return rowCount === 1;
  });
}

const allVersions = Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1);

describe("migratePostgres", () => {
  it("creates the schema and its tables on a fresh database, recording every version", async () => {
    const schema = testSchemaName();
    try {
      expect(await migratePostgres({ connectionString: server.url, schema })).toEqual({
        from: 0,
        to: SCHEMA_VERSION,
      });
      expect(await recordedVersions(schema)).toEqual(allVersions);
      const tables = await withAdmin(server, undefined, async (client) => {
        const { rows } = await client.query<{ name: string }>(
          "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
          [schema],
        );
        return rows.map((row) => row.name);
      });
      expect(tables).toEqual(
        expect.arrayContaining(["sessions", "subjects", "revocation_changes", "events", "rate_windows"]),
      );
    } finally {
      await dropSchema(server, schema);
    }
  });

  it("finds nothing to do when run again, and changes nothing", async () => {
    const schema = testSchemaName();
    try {
      await migratePostgres({ connectionString: server.url, schema });
      const applied = await withAdmin(server, schema, (c) => c.query("SELECT * FROM schema_migrations"));
      expect(await migratePostgres({ connectionString: server.url, schema })).toEqual({
        from: SCHEMA_VERSION,
        to: SCHEMA_VERSION,
      });
      const again = await withAdmin(server, schema, (c) => c.query("SELECT * FROM schema_migrations"));
      expect(again.rows).toEqual(applied.rows);
    } finally {
      await dropSchema(server, schema);
    }
  });

  it("lets instances migrating at the same time take turns: one applies, the others find it done", async () => {
    const schema = testSchemaName();
    try {
      // Each call has its own connection; without the lock they would race to create the
      // schema and its tables, and all but one would fail.
      const results = await Promise.all(
        Array.from({ length: 4 }, () => migratePostgres({ connectionString: server.url, schema })),
      );
      expect(results.filter((r) => r.from === 0)).toHaveLength(1);
      expect(results.filter((r) => r.from === SCHEMA_VERSION)).toHaveLength(3);
      expect(await recordedVersions(schema)).toEqual(allVersions);
    } finally {
      await dropSchema(server, schema);
    }
  });

  it("leaves the schema as it was when a migration fails", async () => {
    const schema = testSchemaName();
    try {
      // A table in the way of the first migration.
      await withAdmin(server, undefined, async (client) => {
        await client.query(`CREATE SCHEMA "${schema}"`);
        await client.query(`CREATE TABLE "${schema}".sessions (x integer)`);
      });
      const error = await rejection(migratePostgres({ connectionString: server.url, schema }));
      expect((error as { code?: string }).code).toBe("42P07"); // duplicate_table, passed on as it is
      const left = await withAdmin(server, undefined, async (client) => {
        const { rows } = await client.query<{ name: string }>(
          "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1",
          [schema],
        );
        return rows.map((row) => row.name);
      });
      expect(left).toEqual(["sessions"]);
    } finally {
      await dropSchema(server, schema);
    }
  });

  it("works in a schema whose name needs quoting, and keeps every row there", async () => {
    const schema = `Prolong "odd" schema ${testSchemaName()}`;
    try {
      await migratePostgres({ connectionString: server.url, schema });
      const store = openPostgresStore({ connectionString: server.url, schema });
      try {
        await store.sessions.ensureSubject("u1", T0);
        await store.keys.claimSecret("mac", "value");
        await store.ping();
        await store.sessions.bumpTokenVersion("u1", T0 + 1);
        expect((await store.sessions.readRevocations({ after: null, limit: 10 })).changes).toHaveLength(1);
      } finally {
        await store.close();
      }
      const counts = await withAdmin(server, undefined, async (client) => {
        const quoted = `"${schema.replaceAll('"', '""')}"`;
        const { rows } = await client.query(
          `SELECT (SELECT count(*) FROM ${quoted}.subjects) AS subjects,
                  (SELECT count(*) FROM ${quoted}.secrets) AS secrets,
                  (SELECT count(*) FROM ${quoted}.revocation_changes) AS changes,
                  to_regclass('public.subjects') AS public_subjects`,
        );
        return rows[0];
      });
      expect(counts).toEqual({ subjects: "1", secrets: "1", changes: "1", public_subjects: null });
    } finally {
      await dropSchema(server, schema);
    }
  });
});

describe("openPostgresStore", () => {
  it("never migrates: it refuses an unmigrated schema, naming both versions and the command, until migrated", async () => {
    const schema = testSchemaName();
    const store = openPostgresStore({ connectionString: server.url, schema });
    try {
      const error = await rejection(store.sessions.findSubject("u1"));
      expect(isProlongError(error, "invalid_config"), String(error)).toBe(true);
      expect((error as Error).message).toBe(
        `the PostgreSQL schema "${schema}" is at version 0, this code needs version ${SCHEMA_VERSION}: ` +
          "run `prolong migrate` (migratePostgres) against this database first",
      );
      expect(isProlongError(await rejection(store.ready()), "invalid_config")).toBe(true);
      expect(isProlongError(await rejection(store.ping()), "invalid_config")).toBe(true);
      expect(await schemaExists(schema)).toBe(false);

      // Migrated while the store is open: it serves from its next call on.
      await migratePostgres({ connectionString: server.url, schema });
      await expect(store.ready()).resolves.toBeUndefined();
      expect(await store.sessions.findSubject("u1")).toBeNull();
    } finally {
      await store.close();
      await dropSchema(server, schema);
    }
  });

  it("refuses a schema an older release migrated, naming the version it found", async () => {
    const schema = testSchemaName();
    try {
      await migratePostgres({ connectionString: server.url, schema });
      // As an older release would have left it: the last migration not recorded.
      await withAdmin(server, schema, (c) =>
        c.query("DELETE FROM schema_migrations WHERE version = $1", [SCHEMA_VERSION]),
      );
      const store = openPostgresStore({ connectionString: server.url, schema });
      try {
        const error = await rejection(store.ready());
        expect(isProlongError(error, "invalid_config")).toBe(true);
        expect((error as Error).message).toContain(
          `is at version ${SCHEMA_VERSION - 1}, this code needs version ${SCHEMA_VERSION}`,
        );
      } finally {
        await store.close();
      }
    } finally {
      await dropSchema(server, schema);
    }
  });

  it("accepts a schema a newer release migrated, so the previous release keeps serving during a roll-out", async () => {
    const schema = testSchemaName();
    try {
      await migratePostgres({ connectionString: server.url, schema });
      // As a newer release would leave it: one more version recorded, with an added column.
      await withAdmin(server, schema, async (c) => {
        await c.query("ALTER TABLE signing_keys ADD COLUMN added_later text");
        await c.query("INSERT INTO schema_migrations (version) VALUES ($1)", [SCHEMA_VERSION + 1]);
      });
      const store = openPostgresStore({ connectionString: server.url, schema });
      try {
        await expect(store.ready()).resolves.toBeUndefined();
        await expect(store.ping()).resolves.toBeUndefined();
        await store.sessions.ensureSubject("u1", T0);
        expect((await store.sessions.findSubject("u1"))?.id).toBe("u1");
        await store.keys.putKey({
          kid: "k1",
          alg: "EdDSA",
          privateKey: "{}",
          publicJwk: null,
          createdAt: T0,
          activatedAt: null,
          retiredAt: null,
        });
        expect((await store.keys.listKeys()).map((k) => k.kid)).toEqual(["k1"]);
      } finally {
        await store.close();
      }
      // The older release's `prolong migrate` finds nothing to do and leaves the newer version.
      expect(await migratePostgres({ connectionString: server.url, schema })).toEqual({
        from: SCHEMA_VERSION + 1,
        to: SCHEMA_VERSION + 1,
      });
      expect(await recordedVersions(schema)).toEqual([...allVersions, SCHEMA_VERSION + 1]);
    } finally {
      await dropSchema(server, schema);
    }
  });

  it("keeps the previous release's rotate_session: during a roll-out it still rotates, counting nothing", async () => {
    const schema = testSchemaName();
    try {
      await migratePostgres({ connectionString: server.url, schema });
      const store = openPostgresStore({ connectionString: server.url, schema });
      const session = sessionRecord();
      try {
        await store.sessions.ensureSubject(session.subjectId, T0);
        await store.sessions.createSession(session);
      } finally {
        await store.close();
      }
      const { outcome, grants } = await withAdmin(server, schema, async (c) => {
        const { rows } = await c.query<{ outcome: { status: string } }>(
          "SELECT rotate_session($1, $2, $3, $4, $5, $6, $7, $8) AS outcome",
          [session.id, session.clientId, 0, session.currentHash, "hash-1", T0 + 1, 30_000, 86_400_000],
        );
        const counted = await c.query("SELECT grant_count, grant_reset_at FROM sessions WHERE id = $1", [
          session.id,
        ]);
        return { outcome: rows[0]?.outcome, grants: counted.rows[0] };
      });
      expect(outcome?.status).toBe("rotated");
      expect(grants).toEqual({ grant_count: 0, grant_reset_at: null });
    } finally {
      await dropSchema(server, schema);
    }
  });

  it("keeps the previous releases' rotate_session signatures failing closed on sessions bound to a key", async () => {
    const schema = testSchemaName();
    try {
      await migratePostgres({ connectionString: server.url, schema });
      const store = openPostgresStore({ connectionString: server.url, schema });
      const dpop = sessionRecord({ dpopJkt: "jkt" });
      const device = sessionRecord({ deviceKey: '{"kty":"EC"}' });
      try {
        for (const session of [dpop, device]) {
          await store.sessions.ensureSubject(session.subjectId, T0);
          await store.sessions.createSession(session);
        }
      } finally {
        await store.close();
      }
      const { outcomes, rows } = await withAdmin(server, schema, async (c) => {
        const call = async (sql: string, session: typeof dpop, extra: unknown[]) => {
          const args = [
            session.id,
            session.clientId,
            0,
            session.currentHash,
            "hash-1",
            T0 + 1,
            30_000,
            86_400_000,
          ];
          const { rows } = await c.query<{ outcome: { status: string } }>(sql, [...args, ...extra]);
          return rows[0]?.outcome.status;
        };
        const eight = "SELECT rotate_session($1, $2, $3, $4, $5, $6, $7, $8) AS outcome";
        const ten = "SELECT rotate_session($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) AS outcome";
        const outcomes = [
          await call(eight, device, []),
          await call(ten, device, [5, 60_000]),
          await call(ten, dpop, [5, 60_000]),
        ];
        const found = await c.query(
          "SELECT id, generation, revoked_reason FROM sessions WHERE id IN ($1, $2) ORDER BY id = $1 DESC",
          [dpop.id, device.id],
        );
        return { outcomes, rows: found.rows };
      });
      // Never rotated without the key: the DPoP-bound session ended, the device-bound one untouched.
      expect(outcomes).toEqual(["unbound", "unbound", "mismatched"]);
      expect(rows).toEqual([
        { id: dpop.id, generation: 0, revoked_reason: "key_mismatch" },
        { id: device.id, generation: 0, revoked_reason: null },
      ]);
    } finally {
      await dropSchema(server, schema);
    }
  });

  it("keeps the previous release's session insert and rotate_session working beside session limits", async () => {
    const schema = testSchemaName();
    try {
      await migratePostgres({ connectionString: server.url, schema });
      const store = openPostgresStore({ connectionString: server.url, schema });
      try {
        await store.sessions.ensureSubject("subject-1", T0);
        // An instance of the previous release inserts with the columns it knows.
        const rotated = await withAdmin(server, schema, async (c) => {
          await c.query(
            `INSERT INTO sessions (id, subject_id, client_id, created_at, auth_time, last_active_at,
                idle_expires_at, token_version, generation, current_hash, dpop_jkt, device_key)
              VALUES ('old', 'subject-1', 'web', $1, $1, $1, $2, 0, 0, 'hash-0', NULL, NULL)`,
            [T0, T0 + 86_400_000],
          );
          const { rows } = await c.query<{ outcome: { status: string; session: Record<string, unknown> } }>(
            "SELECT rotate_session($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) AS outcome",
            ["old", "web", 0, "hash-0", "hash-1", T0 + 1, 30_000, 86_400_000, null, null],
          );
          return rows[0]?.outcome;
        });
        expect(rotated?.status).toBe("rotated");
        expect(rotated?.session).toMatchObject({ acr: null, amr: null, actor: null });
        expect((await store.sessions.readSession("old"))?.session).toMatchObject({
          generation: 1,
          acr: null,
          amr: null,
          actor: null,
        });
        // Its session counts towards a limit this release applies.
        const s = sessionRecord({ createdAt: T0 + 2, lastActiveAt: T0 + 2 });
        expect(
          await store.sessions.createSession(s, { max: 1, clientIds: ["web"], onLimit: "evict" }),
        ).toEqual({
          status: "created",
          evicted: ["old"],
        });
      } finally {
        await store.close();
      }
    } finally {
      await dropSchema(server, schema);
    }
  });

  it("keeps the previous release's handoff insert and take working beside acr and amr", async () => {
    const schema = testSchemaName();
    try {
      await migratePostgres({ connectionString: server.url, schema });
      const store = openPostgresStore({ connectionString: server.url, schema });
      try {
        await store.sessions.putHandoff({
          hash: "new",
          subjectId: "subject-1",
          clientId: "web",
          deviceName: null,
          tokenVersion: 0,
          acr: "urn:example:mfa",
          amr: ["pwd", "otp"],
          createdAt: T0,
          expiresAt: T0 + 60_000,
        });
        // An instance of the previous release inserts with the columns it knows, and takes
        // codes with DELETE … RETURNING *, whichever release made them.
        const taken = await withAdmin(server, schema, async (c) => {
          await c.query(
            `INSERT INTO handoffs (hash, subject_id, client_id, device_name, token_version, created_at, expires_at)
              VALUES ('old', 'subject-1', 'web', NULL, 0, $1, $2)`,
            [T0, T0 + 60_000],
          );
          const { rows } = await c.query("DELETE FROM handoffs WHERE hash = 'new' RETURNING *");
          return rows[0];
        });
        expect(taken).toMatchObject({ hash: "new", subject_id: "subject-1", acr: "urn:example:mfa" });
        // This release reads the previous release's code as carrying neither.
        expect(await store.sessions.takeHandoff("old", T0 + 1)).toMatchObject({
          hash: "old",
          acr: null,
          amr: null,
        });
      } finally {
        await store.close();
      }
    } finally {
      await dropSchema(server, schema);
    }
  });

  it("refuses options it cannot use with invalid_config naming the field, never echoing the URL", async () => {
    const url = "postgres://prolong:hunter2@127.0.0.1:1/prolong";
    const cases: [Record<string, unknown>, string][] = [
      [{ connectionString: "mysql://prolong:hunter2@127.0.0.1/prolong" }, "connectionString"],
      [{ connectionString: `${url}?options=-c%20search_path%3Dx` }, "connectionString"],
      [{ connectionString: 42 }, "connectionString"],
      [{ connectionString: url, schema: "" }, "schema"],
      [{ connectionString: url, schema: "s".repeat(64) }, "schema"],
      [{ connectionString: url, max: 0 }, "max"],
      [{ connectionString: url, max: 1.5 }, "max"],
      [{ connectionString: url, statementTimeout: 0 }, "statementTimeout"],
      [{ connectionString: url, connectionTimeout: "5000" }, "connectionTimeout"],
    ];
    for (const [options, field] of cases) {
      let error: unknown;
      try {
        openPostgresStore(options as never);
      } catch (thrown) {
        error = thrown;
      }
      expect(isProlongError(error, "invalid_config"), `${field}: ${String(error)}`).toBe(true);
      expect((error as Error).message).toMatch(new RegExp(`^PostgreSQL store: ${field}: `));
      expect((error as Error).message).not.toContain("hunter2");
    }
    const migrate = await rejection(migratePostgres({ connectionString: url, statementTimeout: -1 }));
    expect((migrate as Error).message).toMatch(/^PostgreSQL store: statementTimeout: /);
  });
});
