import type {
  AccountRecord,
  HandoffRecord,
  RevokeReason,
  SessionRecord,
  StoredKey,
  SubjectRecord,
} from "@prolong/core";

/**
 * Records as Redis hashes: one field per member, named as the member, numbers in
 * decimal, and a `null` member left out, so that an empty string stays an empty string.
 */

/** A hash as HGETALL returns it inside a script: field, value, field, value, … */
export type FlatHash = string[];

export function fieldsOf(flat: FlatHash): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  return fields;
}

/** Field/value pairs of the members that are not null, for HSET. */
function pairs(record: Record<string, string | number | null>): string[] {
  const out: string[] = [];
  for (const [field, value] of Object.entries(record)) {
    if (value !== null) out.push(field, String(value));
  }
  return out;
}

const str = (value: string | undefined): string => value ?? "";
const num = (value: string | undefined): number => Number(value);
const optStr = (value: string | undefined): string | null => value ?? null;
const optNum = (value: string | undefined): number | null => (value === undefined ? null : Number(value));

/**
 * A time or count as the scripts take it: a whole number of ms, written in decimal.
 * Anything else is a caller's mistake, named here rather than stored.
 */
export function whole(value: number, name: string): string {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be a whole number, not ${value}`);
  return String(value);
}

/** The same, and not before the epoch: it becomes a stream id or a sortable key part. */
export function instant(value: number, name: string): string {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a whole number of ms since the epoch, not ${value}`);
  }
  return String(value);
}

/** An instant in 16 digits, so byte order is time order in a sorted set of one score. */
export function sortable(value: number, name: string): string {
  return instant(value, name).padStart(16, "0");
}

export function toSubject(fields: Record<string, string>): SubjectRecord {
  return {
    id: str(fields.id),
    disabled: fields.disabled === "1",
    tokenVersion: num(fields.tokenVersion),
    reauthRequiredAt: optNum(fields.reauthRequiredAt),
    claims: JSON.parse(fields.claims ?? "{}") as Record<string, unknown>,
    createdAt: num(fields.createdAt),
    updatedAt: num(fields.updatedAt),
  };
}

export function toSession(fields: Record<string, string>): SessionRecord {
  return {
    id: str(fields.id),
    subjectId: str(fields.subjectId),
    clientId: str(fields.clientId),
    deviceName: optStr(fields.deviceName),
    userAgent: optStr(fields.userAgent),
    ip: optStr(fields.ip),
    createdAt: num(fields.createdAt),
    authTime: num(fields.authTime),
    lastActiveAt: num(fields.lastActiveAt),
    idleExpiresAt: num(fields.idleExpiresAt),
    absoluteExpiresAt: optNum(fields.absoluteExpiresAt),
    tokenVersion: num(fields.tokenVersion),
    generation: num(fields.generation),
    currentHash: str(fields.currentHash),
    previousHash: optStr(fields.previousHash),
    rotatedAt: optNum(fields.rotatedAt),
    revokedAt: optNum(fields.revokedAt),
    revokedReason: optStr(fields.revokedReason) as RevokeReason | null,
    dpopJkt: optStr(fields.dpopJkt),
    deviceKey: optStr(fields.deviceKey),
    acr: optStr(fields.acr),
    amr: fields.amr === undefined ? null : (JSON.parse(fields.amr) as string[]),
    actor: optStr(fields.actor),
  };
}

export function sessionFields(s: SessionRecord): string[] {
  return pairs({
    id: s.id,
    subjectId: s.subjectId,
    clientId: s.clientId,
    deviceName: s.deviceName,
    userAgent: s.userAgent,
    ip: s.ip,
    createdAt: instant(s.createdAt, "createdAt"),
    authTime: whole(s.authTime, "authTime"),
    lastActiveAt: whole(s.lastActiveAt, "lastActiveAt"),
    idleExpiresAt: whole(s.idleExpiresAt, "idleExpiresAt"),
    absoluteExpiresAt: s.absoluteExpiresAt === null ? null : whole(s.absoluteExpiresAt, "absoluteExpiresAt"),
    tokenVersion: whole(s.tokenVersion, "tokenVersion"),
    generation: whole(s.generation, "generation"),
    currentHash: s.currentHash,
    previousHash: s.previousHash,
    rotatedAt: s.rotatedAt === null ? null : whole(s.rotatedAt, "rotatedAt"),
    revokedAt: s.revokedAt === null ? null : instant(s.revokedAt, "revokedAt"),
    revokedReason: s.revokedReason,
    dpopJkt: s.dpopJkt,
    deviceKey: s.deviceKey,
    acr: s.acr,
    // The JSON text of the list, so an empty list stays apart from none (an absent field).
    amr: s.amr === null ? null : JSON.stringify(s.amr),
    actor: s.actor,
  });
}

export function toHandoff(fields: Record<string, string>): HandoffRecord {
  return {
    hash: str(fields.hash),
    subjectId: str(fields.subjectId),
    clientId: str(fields.clientId),
    deviceName: optStr(fields.deviceName),
    tokenVersion: num(fields.tokenVersion),
    acr: optStr(fields.acr),
    amr: fields.amr === undefined ? null : (JSON.parse(fields.amr) as string[]),
    createdAt: num(fields.createdAt),
    expiresAt: num(fields.expiresAt),
  };
}

export function handoffFields(h: HandoffRecord): string[] {
  return pairs({
    hash: h.hash,
    subjectId: h.subjectId,
    clientId: h.clientId,
    deviceName: h.deviceName,
    tokenVersion: whole(h.tokenVersion, "tokenVersion"),
    acr: h.acr,
    // As a session's: JSON text, so an empty list stays apart from none (an absent field).
    amr: h.amr === null ? null : JSON.stringify(h.amr),
    createdAt: whole(h.createdAt, "createdAt"),
    expiresAt: whole(h.expiresAt, "expiresAt"),
  });
}

export function toAccount(fields: Record<string, string>): AccountRecord {
  return {
    subjectId: str(fields.subjectId),
    username: str(fields.username),
    passwordHash: optStr(fields.passwordHash),
    createdAt: num(fields.createdAt),
    updatedAt: num(fields.updatedAt),
  };
}

export function toKey(fields: Record<string, string>): StoredKey {
  return {
    kid: str(fields.kid),
    alg: str(fields.alg),
    privateKey: str(fields.privateKey),
    publicJwk: optStr(fields.publicJwk),
    createdAt: num(fields.createdAt),
    activatedAt: optNum(fields.activatedAt),
    retiredAt: optNum(fields.retiredAt),
  };
}

export function keyFields(k: StoredKey): string[] {
  return pairs({
    kid: k.kid,
    alg: k.alg,
    privateKey: k.privateKey,
    publicJwk: k.publicJwk,
    createdAt: whole(k.createdAt, "createdAt"),
    activatedAt: k.activatedAt === null ? null : whole(k.activatedAt, "activatedAt"),
    retiredAt: k.retiredAt === null ? null : whole(k.retiredAt, "retiredAt"),
  });
}
