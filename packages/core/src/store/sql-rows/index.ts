/**
 * `@prolong/core/sql-rows`: the rows of the SQL stores (SQLite, PostgreSQL), for their
 * authors. Both keep the same tables with the same snake_case columns (each in its own
 * migrations); here, once, are their column lists and how a row becomes a record of the
 * store contract and back. What the drivers return differently for one column (a boolean,
 * a JSON object) each store answers with its {@link SqlDialect}. Plain data only: no
 * driver, no SQL beyond column names, so the core stays free of databases and neither
 * store depends on the other.
 */

export { accountFromRow } from "./accounts.js";
export { EVENT_COLUMNS, eventFromRow, eventToRow } from "./audit.js";
export type { SqlDialect, SqlRow, SqlValue } from "./dialect.js";
export { KEY_COLUMNS, keyFromRow, keyToRow } from "./keys.js";
export {
  amrFromColumn,
  amrToColumn,
  changeFromRow,
  HANDOFF_COLUMNS,
  handoffFromRow,
  handoffToRow,
  joinedSubjectColumns,
  SESSION_COLUMNS,
  SUBJECT_COLUMNS,
  sessionFromRow,
  sessionToRow,
  sessionWithSubjectFromRow,
  subjectFromRow,
} from "./sessions.js";
