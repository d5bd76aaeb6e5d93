import pg from "pg";
import { connectionConfig, schemaVersion } from "./database.js";
import { migrations, SCHEMA_VERSION } from "./migrations.js";
import { type PostgresMigrateOptions, quoteIdentifier, resolveMigrateOptions } from "./options.js";
import { classifyFailure } from "./unavailable.js";

/** What `migratePostgres` found and left. */
export interface MigrationResult {
  /** The schema version before. */
  from: number;
  /** The schema version after: the one this code needs. */
  to: number;
}

/** Key of the migration lock, with the schema's hash as second half (`pg_advisory_xact_lock(int, int)`). */
const MIGRATION_LOCK = 1886547821;

/**
 * Brings the store's schema to the version this code needs (`prolong migrate`): creates the
 * schema if it is missing, then applies every pending migration and records it in
 * `schema_migrations`, all in one transaction. The transaction first takes an advisory
 * lock of the schema, so instances migrating at once take turns, and the second finds
 * nothing left to do; a migration that fails leaves the schema as it was.
 */
export async function migratePostgres(options: PostgresMigrateOptions): Promise<MigrationResult> {
  const resolved = resolveMigrateOptions(options);
  const client = new pg.Client(connectionConfig(resolved));
  // A connection lost mid-migration is reported by the query that fails; this keeps the
  // report from ending the process.
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("BEGIN");
    try {
      await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [MIGRATION_LOCK, resolved.schema]);
      const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [resolved.schema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdentifier(resolved.schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version    integer PRIMARY KEY,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`);
      const from = await schemaVersion(client);
      for (let version = from + 1; version <= SCHEMA_VERSION; version++) {
        await client.query(migrations[version - 1] as string);
        await client.query("INSERT INTO schema_migrations (version) VALUES ($1)", [version]);
      }
      await client.query("COMMIT");
      return { from, to: Math.max(from, SCHEMA_VERSION) };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    }
  } catch (error) {
    throw classifyFailure(error);
  } finally {
    await client.end().catch(() => {});
  }
}
