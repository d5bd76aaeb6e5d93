import { ProlongError } from "@prolong/core";
import type { SqlDialect, SqlValue } from "@prolong/core/sql-rows";
import pg from "pg";
import { SCHEMA_VERSION } from "./migrations.js";
import { type ResolvedOptions, startupOptions } from "./options.js";
import { classifyFailure } from "./unavailable.js";

/** A row as the driver returns it, after this store's type parsers. */
export type Row = Record<string, unknown>;

const INT8_OID = 20;

/**
 * The type parsers of this store's connections, and only of them (never set on the
 * driver's global `pg.types`, which the application's own queries share): `bigint`
 * columns, the millisecond times and counts, come back as numbers. Every one of them is
 * far below 2^53. `json` comes back parsed, as the driver does by default.
 */
export const rowTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary"
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format ?? "text")) as pg.CustomTypesConfig["getTypeParser"],
};

/**
 * How this store's rows hold booleans and JSON objects: as the driver parses them, in
 * rows and in the `row_to_json` objects the functions of the migrations return alike.
 */
export const postgresColumns: SqlDialect = {
  readBoolean: (value) => value === true,
  readJson: (value) => value as Record<string, unknown>,
};

/** `(a, b) VALUES ($1, $2)` and its values: an INSERT of these columns of a row. */
export function insertColumns<C extends string>(
  columns: readonly C[],
  row: Readonly<Record<C, SqlValue>>,
): { text: string; values: SqlValue[] } {
  return {
    text: `(${columns.join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")})`,
    values: columns.map((column) => row[column]),
  };
}

/** The driver configuration of one connection (or a pool of them) to the store's schema. */
export function connectionConfig(options: ResolvedOptions): pg.ClientConfig {
  return {
    connectionString: options.connectionString,
    connectionTimeoutMillis: options.connectionTimeout,
    options: startupOptions(options),
    types: rowTypes,
    application_name: "prolong",
  };
}

/** The schema version recorded in `schema_migrations`; 0 when the table does not exist. */
export async function schemaVersion(client: pg.ClientBase | pg.Pool): Promise<number> {
  try {
    const { rows } = await client.query<{ version: number | null }>(
      "SELECT max(version) AS version FROM schema_migrations",
    );
    return rows[0]?.version ?? 0;
  } catch (error) {
    if ((error as { code?: unknown }).code === "42P01") return 0; // undefined_table: never migrated
    throw error;
  }
}

/**
 * The pool every concern of the store shares. Each operation is one statement (a call of
 * a function defined by the migrations where it must read, decide and write), so the
 * pool's auto-commit queries are all it needs. A connection that failed is discarded by
 * the pool (it releases a client with its error), so after an outage or a failover the
 * next operation opens a fresh one.
 */
export class PostgresDatabase {
  readonly pool: pg.Pool;
  readonly options: ResolvedOptions;
  #ready = false;
  #checking: Promise<void> | null = null;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.pool = new pg.Pool({ ...connectionConfig(options), max: options.max });
    // A server that goes away closes the idle connections too; the pool drops them and
    // reports it here. Without a listener Node would end the process on that report.
    this.pool.on("error", () => {});
  }

  /** Runs one statement; a failure of the server or the connection is `store_unavailable`. */
  async query<R extends Row = Row>(text: string, values?: unknown[]): Promise<R[]> {
    if (!this.#ready) await this.ready();
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (error) {
      throw classifyFailure(error);
    }
  }

  /** Runs one statement for its effect; how many rows it inserted, changed or deleted. */
  async run(text: string, values?: unknown[]): Promise<number> {
    if (!this.#ready) await this.ready();
    try {
      return (await this.pool.query(text, values)).rowCount ?? 0;
    } catch (error) {
      throw classifyFailure(error);
    }
  }

  /**
   * Resolves once the schema is at the version this code needs; before that every
   * operation waits for this check. An outdated schema is `invalid_config` (the store
   * never migrates by itself: `migratePostgres` does, under a lock, once per deployment),
   * checked again on the next call, so running the migration while servers are up lets
   * them start serving.
   */
  ready(): Promise<void> {
    if (this.#ready) return Promise.resolve();
    this.#checking ??= this.#check().finally(() => {
      this.#checking = null;
    });
    return this.#checking;
  }

  async #check(): Promise<void> {
    let version: number;
    try {
      version = await schemaVersion(this.pool);
    } catch (error) {
      throw classifyFailure(error);
    }
    if (version < SCHEMA_VERSION) {
      throw new ProlongError(
        "invalid_config",
        `the PostgreSQL schema "${this.options.schema}" is at version ${version}, this code needs ` +
          `version ${SCHEMA_VERSION}: run \`prolong migrate\` (migratePostgres) against this database first`,
      );
    }
    this.#ready = true;
  }

  async close(): Promise<void> {
    if (!this.pool.ending) await this.pool.end();
  }
}
