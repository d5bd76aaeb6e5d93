import type {
  HandoffRecord,
  RevocationChange,
  RevokeReason,
  SessionRecord,
  SubjectRecord,
} from "../sessions.js";
import { nullable, type SqlDialect, type SqlRow, type SqlValue } from "./dialect.js";

/** The columns of `sessions`, in the order the stores name and bind them. */
export const SESSION_COLUMNS = [
  "id",
  "subject_id",
  "client_id",
  "device_name",
  "user_agent",
  "ip",
  "created_at",
  "auth_time",
  "last_active_at",
  "idle_expires_at",
  "absolute_expires_at",
  "token_version",
  "generation",
  "current_hash",
  "previous_hash",
  "rotated_at",
  "revoked_at",
  "revoked_reason",
  "dpop_jkt",
  "device_key",
  "acr",
  "amr",
  "actor",
] as const;

/** The columns of `subjects`. */
export const SUBJECT_COLUMNS = [
  "id",
  "disabled",
  "token_version",
  "reauth_required_at",
  "claims",
  "created_at",
  "updated_at",
] as const;

/** The columns of `handoffs`. */
export const HANDOFF_COLUMNS = [
  "hash",
  "subject_id",
  "client_id",
  "device_name",
  "token_version",
  "created_at",
  "expires_at",
  "acr",
  "amr",
] as const;

/**
 * Where a subject's columns stand in a row that joins it to one of its sessions: renamed,
 * so they do not shadow the session's (`created_at`, `token_version`); its id is the
 * session's `subject_id`.
 */
const JOINED = "subject_";

/**
 * The select list of a subject joined to a session, `alias` naming `subjects` in the
 * statement; read back with {@link sessionWithSubjectFromRow}.
 */
export function joinedSubjectColumns(alias: string): string {
  return SUBJECT_COLUMNS.filter((column) => column !== "id")
    .map((column) => `${alias}.${column} AS ${JOINED}${column}`)
    .join(", ");
}

export function sessionFromRow(row: SqlRow): SessionRecord {
  return {
    id: row.id as string,
    subjectId: row.subject_id as string,
    clientId: row.client_id as string,
    deviceName: nullable<string>(row.device_name),
    userAgent: nullable<string>(row.user_agent),
    ip: nullable<string>(row.ip),
    createdAt: row.created_at as number,
    authTime: row.auth_time as number,
    lastActiveAt: row.last_active_at as number,
    idleExpiresAt: row.idle_expires_at as number,
    absoluteExpiresAt: nullable<number>(row.absolute_expires_at),
    tokenVersion: row.token_version as number,
    generation: row.generation as number,
    currentHash: row.current_hash as string,
    previousHash: nullable<string>(row.previous_hash),
    rotatedAt: nullable<number>(row.rotated_at),
    revokedAt: nullable<number>(row.revoked_at),
    revokedReason: nullable<RevokeReason>(row.revoked_reason),
    dpopJkt: nullable<string>(row.dpop_jkt),
    deviceKey: nullable<string>(row.device_key),
    acr: nullable<string>(row.acr),
    amr: amrFromColumn(row.amr),
    actor: nullable<string>(row.actor),
  };
}

/** The values of a session's row, one per {@link SESSION_COLUMNS}. */
export function sessionToRow(session: SessionRecord): Record<(typeof SESSION_COLUMNS)[number], SqlValue> {
  return {
    id: session.id,
    subject_id: session.subjectId,
    client_id: session.clientId,
    device_name: session.deviceName,
    user_agent: session.userAgent,
    ip: session.ip,
    created_at: session.createdAt,
    auth_time: session.authTime,
    last_active_at: session.lastActiveAt,
    idle_expires_at: session.idleExpiresAt,
    absolute_expires_at: session.absoluteExpiresAt,
    token_version: session.tokenVersion,
    generation: session.generation,
    current_hash: session.currentHash,
    previous_hash: session.previousHash,
    rotated_at: session.rotatedAt,
    revoked_at: session.revokedAt,
    revoked_reason: session.revokedReason,
    dpop_jkt: session.dpopJkt,
    device_key: session.deviceKey,
    acr: session.acr,
    amr: amrToColumn(session.amr),
    actor: session.actor,
  };
}

/**
 * `amr` is kept as the JSON text of its list in every SQL store (a TEXT column), so one
 * encoding serves SQLite and PostgreSQL alike; `null` stays SQL NULL.
 */
export function amrToColumn(amr: readonly string[] | null): string | null {
  return amr === null ? null : JSON.stringify(amr);
}

/** The list an `amr` column holds, or `null`. */
export function amrFromColumn(value: unknown): string[] | null {
  const text = nullable<string>(value);
  return text === null ? null : (JSON.parse(text) as string[]);
}

/** A subject from a row of `subjects`, or from the renamed columns of a joined row. */
function readSubject(row: SqlRow, dialect: SqlDialect, prefix: string): SubjectRecord {
  return {
    id: (prefix ? row.subject_id : row.id) as string,
    disabled: dialect.readBoolean(row[`${prefix}disabled`]),
    tokenVersion: row[`${prefix}token_version`] as number,
    reauthRequiredAt: nullable<number>(row[`${prefix}reauth_required_at`]),
    claims: dialect.readJson(row[`${prefix}claims`]),
    createdAt: row[`${prefix}created_at`] as number,
    updatedAt: row[`${prefix}updated_at`] as number,
  };
}

/** A subject from a row of `subjects` (every one of {@link SUBJECT_COLUMNS}). */
export function subjectFromRow(row: SqlRow, dialect: SqlDialect): SubjectRecord {
  return readSubject(row, dialect, "");
}

/** A session and its subject from a session row joined with {@link joinedSubjectColumns}. */
export function sessionWithSubjectFromRow(
  row: SqlRow,
  dialect: SqlDialect,
): { session: SessionRecord; subject: SubjectRecord } {
  return { session: sessionFromRow(row), subject: readSubject(row, dialect, JOINED) };
}

export function handoffFromRow(row: SqlRow): HandoffRecord {
  return {
    hash: row.hash as string,
    subjectId: row.subject_id as string,
    clientId: row.client_id as string,
    deviceName: nullable<string>(row.device_name),
    tokenVersion: row.token_version as number,
    acr: nullable<string>(row.acr),
    amr: amrFromColumn(row.amr),
    createdAt: row.created_at as number,
    expiresAt: row.expires_at as number,
  };
}

/** The values of a handoff's row, one per {@link HANDOFF_COLUMNS}. */
export function handoffToRow(handoff: HandoffRecord): Record<(typeof HANDOFF_COLUMNS)[number], SqlValue> {
  return {
    hash: handoff.hash,
    subject_id: handoff.subjectId,
    client_id: handoff.clientId,
    device_name: handoff.deviceName,
    token_version: handoff.tokenVersion,
    created_at: handoff.createdAt,
    expires_at: handoff.expiresAt,
    acr: handoff.acr,
    amr: amrToColumn(handoff.amr),
  };
}

/** A change from a row of `revocation_changes`; its cursor is the row's `seq` in decimal. */
export function changeFromRow(row: SqlRow): RevocationChange {
  const cursor = String(row.seq);
  const at = row.at as number;
  const subjectId = row.subject_id as string;
  return row.kind === "revoked"
    ? { cursor, kind: "revoked", sessionId: row.session_id as string, subjectId, at }
    : { cursor, kind: "version", subjectId, version: row.version as number, at };
}
