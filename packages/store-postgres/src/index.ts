import type {
  AccountStore,
  AuditLog,
  KeyStore,
  RateLimitStore,
  ReplayStore,
  SessionStore,
  Store,
} from "@prolong/core";
import { PostgresAccountStore } from "./accounts.js";
import { PostgresAuditLog } from "./audit.js";
import { PostgresDatabase } from "./database.js";
import { PostgresKeyStore } from "./keys.js";
import { PostgresRateLimitStore } from "./limits.js";
import { type PostgresStoreOptions, resolveStoreOptions } from "./options.js";
import { PostgresReplayStore } from "./replay.js";
import { RevocationWatch } from "./revocation-watch.js";
import { PostgresSessionStore } from "./sessions.js";

export { type MigrationResult, migratePostgres } from "./migrate.js";
export { SCHEMA_VERSION } from "./migrations.js";
export type { PostgresConnectionOptions, PostgresMigrateOptions, PostgresStoreOptions } from "./options.js";

/**
 * The store on PostgreSQL (node-postgres): every concern on one schema through one
 * connection pool, so any number of server instances share sessions, keys, limits, single-use claims and the
 * revocation changelog. Each operation is one statement or one call of a function the
 * migrations define, so races between instances are settled in the database.
 */
export class PostgresStore implements Store {
  // Typed by their contracts, and the pool private, so the published types never name
  // the driver's: a consumer need not install @types/pg to type-check.
  readonly sessions: SessionStore;
  readonly accounts: AccountStore;
  readonly keys: KeyStore;
  readonly audit: AuditLog;
  readonly limits: RateLimitStore;
  readonly replay: ReplayStore;
  readonly #db: PostgresDatabase;
  readonly #watch: RevocationWatch;

  constructor(options: PostgresStoreOptions) {
    const resolved = resolveStoreOptions(options);
    this.#db = new PostgresDatabase(resolved);
    this.#watch = new RevocationWatch(resolved);
    this.sessions = new PostgresSessionStore(this.#db, this.#watch);
    this.accounts = new PostgresAccountStore(this.#db);
    this.keys = new PostgresKeyStore(this.#db);
    this.audit = new PostgresAuditLog(this.#db);
    this.limits = new PostgresRateLimitStore(this.#db);
    this.replay = new PostgresReplayStore(this.#db);
  }

  /**
   * Resolves once the server answers and the schema is at the version this code needs
   * (every operation waits for the same check). Rejects with `invalid_config` naming both
   * versions when `prolong migrate` has not run, `store_unavailable` when the server cannot
   * be reached.
   */
  ready(): Promise<void> {
    return this.#db.ready();
  }

  /** Commits a write (one heartbeat row), so readiness fails as soon as writes do. */
  async ping(): Promise<void> {
    await this.#db.run(
      "INSERT INTO heartbeat (id, beats) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET beats = heartbeat.beats + 1",
    );
  }

  /** Stops watching the changelog and closes every connection. */
  async close(): Promise<void> {
    this.#watch.close();
    await this.#db.close();
  }
}

/**
 * Opens the store on the schema of `options.connectionString`. Connects lazily: the first
 * operation (or `ready()`) checks that `migratePostgres` has brought the schema to the
 * version this code needs, and refuses with `invalid_config` until it has. Throws
 * `invalid_config` naming the field for options it cannot use.
 */
export function openPostgresStore(options: PostgresStoreOptions): PostgresStore {
  return new PostgresStore(options);
}
