import type { HandoffRecord, SecurityEvent, SessionRecord, StoredKey } from "@prolong/core";
import {
  accountFromRow,
  changeFromRow,
  EVENT_COLUMNS,
  eventFromRow,
  eventToRow,
  HANDOFF_COLUMNS,
  handoffFromRow,
  handoffToRow,
  joinedSubjectColumns,
  KEY_COLUMNS,
  keyFromRow,
  keyToRow,
  SESSION_COLUMNS,
  type SqlDialect,
  SUBJECT_COLUMNS,
  sessionFromRow,
  sessionToRow,
  sessionWithSubjectFromRow,
  subjectFromRow,
} from "@prolong/core/sql-rows";
import { describe, expect, it } from "vitest";

const T0 = Date.UTC(2026, 0, 1);

/** The two ways the SQL stores' drivers hand over booleans and JSON objects. */
const textual: SqlDialect = {
  readBoolean: (value) => value === 1,
  readJson: (value) => JSON.parse(value as string) as Record<string, unknown>,
};
const typed: SqlDialect = {
  readBoolean: (value) => value === true,
  readJson: (value) => value as Record<string, unknown>,
};

const session: SessionRecord = {
  id: "s1",
  subjectId: "u1",
  clientId: "web",
  deviceName: "laptop",
  userAgent: "agent",
  ip: "192.0.2.1",
  createdAt: T0,
  authTime: T0 - 1,
  lastActiveAt: T0 + 1,
  idleExpiresAt: T0 + 2,
  absoluteExpiresAt: 2 ** 52 + 1,
  tokenVersion: 3,
  generation: 4,
  currentHash: "h4",
  previousHash: "h3",
  rotatedAt: T0 + 5,
  revokedAt: T0 + 6,
  revokedReason: "reuse",
  dpopJkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
  deviceKey: '{"kty":"EC","crv":"P-256"}',
  acr: "urn:example:mfa",
  amr: ["pwd", "otp"],
  actor: "admin-7",
};

/** A row as a statement that names `columns` returns it (only those keys, in that order). */
function rowOf(columns: readonly string[], values: Record<string, unknown>): Record<string, unknown> {
  expect(Object.keys(values)).toEqual(columns);
  return Object.fromEntries(columns.map((column) => [column, values[column]]));
}

describe("session rows", () => {
  it("writes every session column once, in the listed order, and reads the same record back", () => {
    const row = rowOf(SESSION_COLUMNS, sessionToRow(session));
    expect(row.absolute_expires_at).toBe(2 ** 52 + 1);
    expect(row.revoked_reason).toBe("reuse");
    expect(row.amr).toBe('["pwd","otp"]');
    expect(sessionFromRow(row)).toEqual(session);
  });

  it("reads NULL columns, and columns a driver left out, as null", () => {
    const bare: SessionRecord = {
      ...session,
      deviceName: null,
      userAgent: null,
      ip: null,
      absoluteExpiresAt: null,
      previousHash: null,
      rotatedAt: null,
      revokedAt: null,
      revokedReason: null,
      dpopJkt: null,
      deviceKey: null,
      acr: null,
      amr: null,
      actor: null,
    };
    expect(sessionFromRow(sessionToRow(bare))).toEqual(bare);
    const omitted = Object.fromEntries(Object.entries(sessionToRow(bare)).filter(([, v]) => v !== null));
    expect(sessionFromRow(omitted)).toEqual(bare);
  });
});

describe("subject rows", () => {
  const subject = {
    id: "u1",
    disabled: true,
    tokenVersion: 2,
    reauthRequiredAt: T0,
    claims: { roles: ["admin"], nested: { n: 1.5, nul: "a\u0000b" } },
    createdAt: T0 - 10,
    updatedAt: T0 - 5,
  };

  it("reads booleans and JSON as each dialect's driver gives them", () => {
    const stored = {
      id: "u1",
      token_version: 2,
      reauth_required_at: T0,
      created_at: T0 - 10,
      updated_at: T0 - 5,
    };
    const fromText = { ...stored, disabled: 1, claims: JSON.stringify(subject.claims) };
    const fromTypes = { ...stored, disabled: true, claims: subject.claims };
    expect(subjectFromRow(fromText, textual)).toEqual(subject);
    expect(subjectFromRow(fromTypes, typed)).toEqual(subject);
    expect(subjectFromRow({ ...fromText, disabled: 0, reauth_required_at: null }, textual)).toEqual({
      ...subject,
      disabled: false,
      reauthRequiredAt: null,
    });
    expect(subjectFromRow({ ...fromTypes, disabled: false }, typed).disabled).toBe(false);
  });

  it("reads a session and its subject from one joined row, the subject's columns renamed as selected", () => {
    const list = joinedSubjectColumns("u");
    const renamed = [...list.matchAll(/u\.(\w+) AS (\w+)/g)].map(([, column, alias]) => [column, alias]);
    // Every subject column but the id (the session's subject_id), none shadowing a session column.
    expect(renamed.map(([column]) => column)).toEqual(SUBJECT_COLUMNS.filter((c) => c !== "id"));
    expect(list.split(", ")).toHaveLength(renamed.length);
    const aliases = renamed.map(([, alias]) => alias as string);
    expect(aliases.filter((alias) => (SESSION_COLUMNS as readonly string[]).includes(alias))).toEqual([]);

    const subjectValues: Record<string, unknown> = {
      disabled: 0,
      token_version: 7,
      reauth_required_at: null,
      claims: '{"tier":"gold"}',
      created_at: T0 - 10,
      updated_at: T0 - 5,
    };
    const row: Record<string, unknown> = { ...sessionToRow(session) };
    for (const [column, alias] of renamed) row[alias as string] = subjectValues[column as string];
    expect(sessionWithSubjectFromRow(row, textual)).toEqual({
      session,
      subject: {
        id: "u1",
        disabled: false,
        tokenVersion: 7,
        reauthRequiredAt: null,
        claims: { tier: "gold" },
        createdAt: T0 - 10,
        updatedAt: T0 - 5,
      },
    });
  });
});

describe("the other rows", () => {
  it("round-trips handoffs, keys and events through the listed columns", () => {
    const handoff: HandoffRecord = {
      hash: "hh",
      subjectId: "u1",
      clientId: "web",
      deviceName: null,
      tokenVersion: 1,
      acr: null,
      amr: null,
      createdAt: T0,
      expiresAt: T0 + 60_000,
    };
    expect(handoffFromRow(rowOf(HANDOFF_COLUMNS, handoffToRow(handoff)))).toEqual(handoff);
    for (const vouched of [
      { ...handoff, acr: "urn:example:mfa", amr: ["pwd", "otp"] },
      { ...handoff, acr: "urn:example:pwd", amr: [] },
    ]) {
      // amr as the JSON text of the list, as a session's: [] stays apart from NULL.
      expect(handoffToRow(vouched).amr).toBe(JSON.stringify(vouched.amr));
      expect(handoffFromRow(rowOf(HANDOFF_COLUMNS, handoffToRow(vouched)))).toEqual(vouched);
    }

    const key: StoredKey = {
      kid: "k1",
      alg: "EdDSA",
      privateKey: "secret",
      publicJwk: null,
      createdAt: T0,
      activatedAt: T0 + 1,
      retiredAt: null,
    };
    expect(keyFromRow(rowOf(KEY_COLUMNS, keyToRow(key)))).toEqual(key);

    const event: SecurityEvent = {
      id: "e1",
      type: "signed_in",
      subjectId: "u1",
      sessionId: null,
      at: T0,
      detail: { ip: "192.0.2.1", attempts: 3 },
    };
    const written = rowOf(EVENT_COLUMNS, eventToRow(event));
    expect(written.detail).toBe('{"ip":"192.0.2.1","attempts":3}');
    expect(eventFromRow(written, textual)).toEqual(event);
    expect(eventFromRow({ ...written, detail: event.detail }, typed)).toEqual(event);
  });

  it("reads accounts and both kinds of revocation change", () => {
    const row = {
      subject_id: "u1",
      username: "maryo",
      password_hash: null,
      created_at: T0,
      updated_at: T0 + 1,
    };
    expect(accountFromRow(row)).toEqual({
      subjectId: "u1",
      username: "maryo",
      passwordHash: null,
      createdAt: T0,
      updatedAt: T0 + 1,
    });
    expect(
      changeFromRow({ seq: 12, kind: "revoked", subject_id: "u1", session_id: "s1", version: null, at: T0 }),
    ).toEqual({ cursor: "12", kind: "revoked", sessionId: "s1", subjectId: "u1", at: T0 });
    expect(
      changeFromRow({ seq: 13, kind: "version", subject_id: "u1", session_id: null, version: 4, at: T0 }),
    ).toEqual({ cursor: "13", kind: "version", subjectId: "u1", version: 4, at: T0 });
  });
});
