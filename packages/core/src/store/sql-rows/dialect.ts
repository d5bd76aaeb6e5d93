/** A row as an SQL driver hands it over: column name to value. */
export type SqlRow = Readonly<Record<string, unknown>>;

/** A value bound to a statement parameter: SQL text, integer or NULL. */
export type SqlValue = string | number | null;

/**
 * What one SQL backend's driver returns differently for the same column, the rest of the
 * mapping being shared. Integer columns (the millisecond times, counters) must already
 * arrive as numbers: a driver that returns 64-bit integers as strings converts them in
 * its own type parsing, for every query of the store and not only these rows.
 */
export interface SqlDialect {
  /** A boolean column: `true`/`false` where the database has the type, `1`/`0` where it has not. */
  readBoolean(value: unknown): boolean;
  /** A JSON object column: text to parse, or the object the driver already parsed. */
  readJson(value: unknown): Record<string, unknown>;
}

/** A nullable column, `undefined` (a column the statement did not return) read as NULL. */
export function nullable<T extends SqlValue>(value: unknown): T | null {
  return (value ?? null) as T | null;
}
