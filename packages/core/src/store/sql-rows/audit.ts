import type { SecurityEvent } from "../audit.js";
import { nullable, type SqlDialect, type SqlRow, type SqlValue } from "./dialect.js";

/** The columns of `events` a store writes; `seq`, the arrival number, is the database's. */
export const EVENT_COLUMNS = ["id", "type", "subject_id", "session_id", "at", "detail"] as const;

export function eventFromRow(row: SqlRow, dialect: SqlDialect): SecurityEvent {
  return {
    id: row.id as string,
    type: row.type as string,
    subjectId: nullable<string>(row.subject_id),
    sessionId: nullable<string>(row.session_id),
    at: row.at as number,
    detail: dialect.readJson(row.detail),
  };
}

/** The values of an event's row, one per {@link EVENT_COLUMNS}; the detail as JSON text. */
export function eventToRow(event: SecurityEvent): Record<(typeof EVENT_COLUMNS)[number], SqlValue> {
  return {
    id: event.id,
    type: event.type,
    subject_id: event.subjectId,
    session_id: event.sessionId,
    at: event.at,
    detail: JSON.stringify(event.detail),
  };
}
