import {
  type AuditLog,
  type AuditPage,
  type AuditQuery,
  formatEventCursor,
  parseEventCursor,
  type SecurityEvent,
} from "@prolong/core";
import type { PostgresDatabase, Row } from "./database.js";

function toEvent(row: Row): SecurityEvent {
  return {
    id: row.id as string,
    type: row.type as string,
    subjectId: row.subject_id as string | null,
    sessionId: row.session_id as string | null,
    at: row.at as number,
    detail: row.detail as Record<string, unknown>,
  };
}

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
    await this.#db.run(
      `INSERT INTO events (id, type, subject_id, session_id, at, detail)
        VALUES ($1, $2, $3, $4, $5, $6::json)`,
      [event.id, event.type, event.subjectId, event.sessionId, event.at, JSON.stringify(event.detail)],
    );
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
      events: page.map(toEvent),
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
