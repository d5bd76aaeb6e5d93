import type { AccountRecord } from "../accounts.js";
import { nullable, type SqlRow } from "./dialect.js";

export function accountFromRow(row: SqlRow): AccountRecord {
  return {
    subjectId: row.subject_id as string,
    username: row.username as string,
    passwordHash: nullable<string>(row.password_hash),
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
  };
}
