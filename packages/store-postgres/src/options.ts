import { ProlongError } from "@prolong/core";

// Apart from the driver, so the published types never name its types: a consumer need
// not install @types/pg to type-check against this package.

/** Where the store's tables live, and how to reach them. Shared by the store and `migratePostgres`. */
export interface PostgresConnectionOptions {
  /**
   * A `postgres://` or `postgresql://` URL: user, password, host, port, database and
   * libpq parameters such as `sslmode`. Its `options` parameter is the store's own (it
   * sets the schema and the statement timeout), so the URL must not carry one.
   */
  connectionString: string;
  /** The schema holding prolong's tables; created by `migratePostgres` if missing. Default `public`. */
  schema?: string;
  /** How long opening a connection may take, in ms, before the operation fails. Default 5000. */
  connectionTimeout?: number;
}

export interface PostgresStoreOptions extends PostgresConnectionOptions {
  /** Connections the store's pool opens at most. Default 10. */
  max?: number;
  /**
   * How long one statement may run, in ms, before the server cancels it and the operation
   * fails with `store_unavailable` (a lock held too long, an overloaded server). Default 5000.
   */
  statementTimeout?: number;
}

export interface PostgresMigrateOptions extends PostgresConnectionOptions {
  /**
   * How long one migration statement may run, in ms; 0, the default, for no limit (an
   * index built on a large table takes what it takes).
   */
  statementTimeout?: number;
}

/** Options with every default applied, checked. */
export interface ResolvedOptions {
  connectionString: string;
  schema: string;
  connectionTimeout: number;
  statementTimeout: number;
  max: number;
}

const MAX_TIMEOUT = 600_000;

function invalid(field: string, message: string): ProlongError {
  return new ProlongError("invalid_config", `PostgreSQL store: ${field}: ${message}`);
}

function integer(value: unknown, field: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function checkConnectionString(value: unknown): string {
  // Never echo the value: it usually holds a password.
  if (typeof value !== "string" || !/^postgres(ql)?:\/\//.test(value)) {
    throw invalid("connectionString", "must be a postgres:// or postgresql:// URL");
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid("connectionString", "is not a valid URL");
  }
  if (url.searchParams.has("options")) {
    throw invalid(
      "connectionString",
      "must not carry an `options` parameter: the store sets the schema and statement timeout there",
    );
  }
  return value;
}

function checkSchema(value: unknown): string {
  if (value === undefined) return "public";
  // PostgreSQL truncates identifiers past 63 bytes (NAMEDATALEN - 1); refuse rather than
  // let two long names silently become one schema.
  if (
    typeof value !== "string" ||
    value === "" ||
    value.includes("\0") ||
    Buffer.byteLength(value, "utf8") > 63
  ) {
    throw invalid("schema", "must be a schema name of 1 to 63 bytes");
  }
  return value;
}

/** Checks the store's options and applies the defaults; `invalid_config` naming the field at fault. */
export function resolveStoreOptions(options: PostgresStoreOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) throw invalid("options", "must be an object");
  return {
    connectionString: checkConnectionString(options.connectionString),
    schema: checkSchema(options.schema),
    connectionTimeout: integer(options.connectionTimeout, "connectionTimeout", 5000, 1, MAX_TIMEOUT),
    statementTimeout: integer(options.statementTimeout, "statementTimeout", 5000, 1, MAX_TIMEOUT),
    max: integer(options.max, "max", 10, 1, 1000),
  };
}

/** Checks `migratePostgres`'s options and applies the defaults (no statement timeout, one connection). */
export function resolveMigrateOptions(options: PostgresMigrateOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) throw invalid("options", "must be an object");
  return {
    connectionString: checkConnectionString(options.connectionString),
    schema: checkSchema(options.schema),
    connectionTimeout: integer(options.connectionTimeout, "connectionTimeout", 5000, 1, MAX_TIMEOUT),
    statementTimeout: integer(options.statementTimeout, "statementTimeout", 0, 0, 2_147_483_647),
    max: 1,
  };
}

/** `name` as a quoted SQL identifier: `"a ""b"""`, whatever characters it holds. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The startup `options` of every connection: the schema as the whole search path and the
 * statement timeout, set by the server before the first query, so no connection of the
 * pool ever runs a statement elsewhere or without the limit. The server splits this
 * string at unescaped whitespace and removes backslashes, so both are escaped.
 */
export function startupOptions(resolved: ResolvedOptions): string {
  const escapeOption = (value: string) => value.replace(/[\\\s]/g, (c) => `\\${c}`);
  return [
    `-c search_path=${escapeOption(quoteIdentifier(resolved.schema))}`,
    `-c statement_timeout=${resolved.statementTimeout}`,
  ].join(" ");
}
