import {
  type AuditLog,
  type AuditPage,
  type AuditQuery,
  formatEventCursor,
  parseEventCursor,
  type SecurityEvent,
} from "@prolong/core";
import { EVENT_COLUMNS, eventFromRow, eventToRow } from "@prolong/core/sql-rows";
import { insertColumns, type PostgresDatabase, postgresColumns } from "./database.js";

/** The filters a query may combine, each with the column it tests. */
const FILTERS = [
  ["subjectId", "subject_id"],
  ["sessionId", "session_id"],
  ["type", "type"],
] as const;

/** The security-event log on PostgreSQL. */
export class PostgresAuditLog implements AuditLog {
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  async record(event: SecurityEvent): Promise<void> {
    // The detail goes as JSON text; the column's type parses it.
    const { text, values } = insertColumns(EVENT_COLUMNS, eventToRow(event));
    await this.#db.run(`INSERT INTO events ${text}`, values);
  }

  /**
   * Newest first. Equal times fall back on `seq`, so a page cursor `(at, seq)` has exactly
   * one place to stand: events of one instant are never skipped or repeated across pages.
   * Each filter column leads an index ending in `(at, seq)`, so a page is a range read.
   */
  async list(query: AuditQuery): Promise<AuditPage> {
    const after = query.after === undefined ? null : parseEventCursor(query.after);
    const values: unknown[] = [];
    const param = (value: unknown, type: string) => {
      values.push(value);
      return `$${values.length}::${type}`;
    };
    const where: string[] = [];
    for (const [field, column] of FILTERS) {
      const value = query[field];
      if (value !== undefined) where.push(`${column} = ${param(value, "text")}`);
    }
    if (after) where.push(`(at, seq) < (${param(after.at, "bigint")}, ${param(after.seq, "bigint")})`);
    const clause = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
    // One row past the page says there is a next page, without a count.
    const rows = await this.#db.query(
      `SELECT * FROM events ${clause} ORDER BY at DESC, seq DESC LIMIT ${param(query.limit + 1, "bigint")}`,
      values,
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      events: page.map((row) => eventFromRow(row, postgresColumns)),
      next:
        last && rows.length > page.length
          ? formatEventCursor({ at: last.at as number, seq: last.seq as number })
          : null,
    };
  }

  async purge(before: number): Promise<number> {
    return this.#db.run("DELETE FROM events WHERE at < $1", [before]);
  }
}
