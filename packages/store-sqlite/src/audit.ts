import {
  type AuditLog,
  type AuditPage,
  type AuditQuery,
  formatEventCursor,
  parseEventCursor,
  type SecurityEvent,
} from "@prolong/core";
import { EVENT_COLUMNS, eventFromRow, eventToRow } from "@prolong/core/sql-rows";
import type Database from "better-sqlite3";
import { insertColumns, type Row, sqliteColumns } from "./database.js";
import type { Attempt } from "./lock-wait.js";
import { type GuardedStatement, guard, guardStatements } from "./unavailable.js";

/** The filters a query may combine, each with the column it tests. */
const FILTERS = [
  ["subjectId", "subject_id"],
  ["sessionId", "session_id"],
  ["type", "type"],
] as const;

/**
 * The listing for one combination of filters, newest first. Equal times fall back on
 * `seq`, so a page cursor `(at, seq)` has exactly one place to stand: events of one
 * instant are never skipped or repeated across pages. Each filter column leads an index
 * ending in `at` (and, as in every SQLite index, the rowid `seq`), so a page is a range
 * read, never a sort of the whole log.
 */
export function listEventsSql(filters: readonly string[], paged: boolean): string {
  const where = FILTERS.filter(([field]) => filters.includes(field)).map(
    ([, column]) => `${column} = :${column}`,
  );
  if (paged) where.push("(at, seq) < (:after_at, :after_seq)");
  const clause = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
  return `SELECT * FROM events ${clause} ORDER BY at DESC, seq DESC LIMIT :limit`;
}

/** The security-event log on SQLite. */
export class SqliteAuditLog implements AuditLog {
  readonly #db: Database.Database;
  readonly #s;
  readonly #attempt: Attempt;
  /** One prepared statement per combination of filters, prepared on first use. */
  readonly #lists = new Map<string, GuardedStatement>();

  constructor(db: Database.Database, attempt: Attempt) {
    this.#db = db;
    this.#attempt = attempt;
    this.#s = guardStatements(db, {
      insert: db.prepare(`INSERT INTO events ${insertColumns(EVENT_COLUMNS)}`),
      purge: db.prepare("DELETE FROM events WHERE at < ?"),
    });
  }

  async record(event: SecurityEvent): Promise<void> {
    const params = eventToRow(event);
    await this.#attempt(() => this.#s.insert.run(params));
  }

  async list(query: AuditQuery): Promise<AuditPage> {
    const after = query.after === undefined ? null : parseEventCursor(query.after);
    const params: Row = { limit: query.limit + 1 };
    const filters: string[] = [];
    for (const [field, column] of FILTERS) {
      const value = query[field];
      if (value === undefined) continue;
      filters.push(field);
      params[column] = value;
    }
    if (after) {
      params.after_at = after.at;
      params.after_seq = after.seq;
    }
    const rows = (await this.#attempt(() => this.#statement(filters, after !== null).all(params))) as Row[];
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      events: page.map((row) => eventFromRow(row, sqliteColumns)),
      // One row past the page says there is a next page, without a count.
      next:
        last && rows.length > page.length
          ? formatEventCursor({ at: last.at as number, seq: last.seq as number })
          : null,
    };
  }

  async purge(before: number): Promise<number> {
    return this.#attempt(() => this.#s.purge.run(before).changes);
  }

  #statement(filters: readonly string[], paged: boolean): GuardedStatement {
    const key = `${filters.join(",")}|${paged}`;
    let statement = this.#lists.get(key);
    if (!statement) {
      const sql = listEventsSql(filters, paged);
      statement = guardStatements(this.#db, { list: guard(this.#db, () => this.#db.prepare(sql)) }).list;
      this.#lists.set(key, statement);
    }
    return statement;
  }
}
