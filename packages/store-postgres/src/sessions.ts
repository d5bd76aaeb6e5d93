import {
  assertSessionLimit,
  type CreateSessionOutcome,
  type GrantBudget,
  type GrantRefusal,
  type HandoffRecord,
  type RevocationPage,
  type RevocationRead,
  type RevokeReason,
  type RotateOutcome,
  type RotateRequest,
  type SessionLimit,
  type SessionListOptions,
  type SessionRecord,
  type SessionStore,
  type StepUp,
  type SubjectPatch,
  type SubjectRecord,
} from "@prolong/core";
import {
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
} from "@prolong/core/sql-rows";
import { insertColumns, type PostgresDatabase, postgresColumns, type Row } from "./database.js";
import type { RevocationWatch } from "./revocation-watch.js";

const SUBJECT_SELECT = SUBJECT_COLUMNS.join(", ");

/**
 * The hot read: a session and its subject by primary keys, in one statement. Subject
 * columns are prefixed so they do not shadow the session's.
 */
const READ_SESSION_SQL = `SELECT s.*, ${joinedSubjectColumns("u")}
  FROM sessions AS s JOIN subjects AS u ON u.id = s.subject_id
  WHERE s.id = $1`;

/** Live at $now — the SQL twin of `isSessionLive`. */
const live = (now: string) => `revoked_at IS NULL AND idle_expires_at > ${now}
  AND (absolute_expires_at IS NULL OR absolute_expires_at > ${now})`;

/**
 * A subject's sessions as `listSessions` narrows them, newest first, ties by id
 * (code-point order: the column's collation is "C"). The index
 * `sessions_subject (subject_id, created_at, id)` gives the order, so a page is a range read.
 */
function listSessionsQuery(
  subjectId: string,
  now: number,
  options: SessionListOptions,
): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const param = (value: unknown, type: string) => {
    values.push(value);
    return `$${values.length}::${type}`;
  };
  const where = [`subject_id = ${param(subjectId, "text")}`];
  if (options.ended !== true) where.push(live(param(now, "bigint")));
  if (options.clientId !== undefined) where.push(`client_id = ${param(options.clientId, "text")}`);
  if (options.after) {
    const { createdAt, id } = options.after;
    where.push(`(created_at, id) < (${param(createdAt, "bigint")}, ${param(id, "text")})`);
  }
  // LIMIT NULL is no limit.
  const limit = param(options.limit ?? null, "bigint");
  return {
    text: `SELECT * FROM sessions WHERE ${where.join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT ${limit}`,
    values,
  };
}

const toSubject = (row: Row) => subjectFromRow(row, postgresColumns);

/** Cursors of this store are the changelog's `seq`, written in decimal. */
function parseCursor(cursor: string): number {
  const seq = Number(cursor);
  if (!/^\d{1,16}$/.test(cursor) || !Number.isSafeInteger(seq)) {
    throw new TypeError(`not a cursor of this store: ${cursor}`);
  }
  return seq;
}

/**
 * Changes after a cursor and the head of the changelog, read by one statement, so both
 * come from one snapshot. With `since`, the scan starts at the first change at or after
 * it (found through the `at` index), not at the oldest retained row.
 */
const READ_CHANGES_SQL = `SELECT c.*, head.seq AS head
  FROM (SELECT max(seq) AS seq FROM revocation_changes) AS head
  LEFT JOIN LATERAL (
    SELECT * FROM revocation_changes
      WHERE seq > $1 AND ($2::bigint IS NULL OR (at >= $2 AND seq >= (
        SELECT min(seq) FROM revocation_changes WHERE at >= $2)))
      ORDER BY seq LIMIT $3
  ) AS c ON true
  ORDER BY c.seq`;

/**
 * Sessions, subjects and the revocation changelog on PostgreSQL. Every operation is one
 * statement; those that read, decide and write, or revoke and append to the changelog,
 * call a function of the migrations, so they commit as one transaction in one round trip.
 */
export class PostgresSessionStore implements SessionStore {
  readonly #db: PostgresDatabase;
  readonly #watch: RevocationWatch;

  constructor(db: PostgresDatabase, watch: RevocationWatch) {
    this.#db = db;
    this.#watch = watch;
  }

  async ensureSubject(id: string, now: number): Promise<SubjectRecord> {
    // Read first: the subject usually exists, and a read writes nothing. Then insert;
    // when a concurrent insert won, ON CONFLICT waited for it to commit, so the last
    // read (a new snapshot) finds its row.
    const select = `SELECT ${SUBJECT_SELECT} FROM subjects WHERE id = $1`;
    const row =
      (await this.#db.query(select, [id]))[0] ??
      (
        await this.#db.query(
          `INSERT INTO subjects (id, created_at, updated_at) VALUES ($1, $2, $2)
            ON CONFLICT DO NOTHING RETURNING ${SUBJECT_SELECT}`,
          [id, now],
        )
      )[0] ??
      (await this.#db.query(select, [id]))[0];
    if (!row) throw new Error(`subject ${id} vanished while it was being created`);
    return toSubject(row);
  }

  async findSubject(id: string): Promise<SubjectRecord | null> {
    const [row] = await this.#db.query(`SELECT ${SUBJECT_SELECT} FROM subjects WHERE id = $1`, [id]);
    return row ? toSubject(row) : null;
  }

  async updateSubject(id: string, patch: SubjectPatch, now: number): Promise<SubjectRecord | null> {
    const [row] = await this.#db.query(
      `UPDATE subjects SET
          disabled = CASE WHEN $3 THEN $4 ELSE disabled END,
          reauth_required_at = CASE WHEN $5 THEN $6::bigint ELSE reauth_required_at END,
          claims = CASE WHEN $7 THEN $8::json ELSE claims END,
          updated_at = $2
        WHERE id = $1 RETURNING ${SUBJECT_SELECT}`,
      [
        id,
        now,
        patch.disabled !== undefined,
        patch.disabled === true,
        patch.reauthRequiredAt !== undefined,
        patch.reauthRequiredAt ?? null,
        patch.claims !== undefined,
        JSON.stringify(patch.claims ?? {}),
      ],
    );
    return row ? toSubject(row) : null;
  }

  async bumpTokenVersion(id: string, now: number): Promise<SubjectRecord | null> {
    const [row] = await this.#db.query("SELECT * FROM bump_token_version($1, $2)", [id, now]);
    return row ? toSubject(row) : null;
  }

  async createSession(
    session: SessionRecord,
    limit: SessionLimit | null = null,
  ): Promise<CreateSessionOutcome> {
    if (limit) {
      assertSessionLimit(limit);
      // One round trip: the function locks the subject, counts, evicts or refuses, and
      // inserts (migrations.ts, create_session).
      const [row] = await this.#db.query<{ outcome: CreateSessionOutcome }>(
        "SELECT create_session($1::json, $2, $3::text[], $4) AS outcome",
        [JSON.stringify(sessionToRow(session)), limit.max, limit.clientIds, limit.onLimit],
      );
      const outcome = row?.outcome as CreateSessionOutcome;
      return outcome.status === "refused"
        ? { status: "refused", live: Number(outcome.live) }
        : { status: "created", evicted: outcome.evicted };
    }
    const { text, values } = insertColumns(SESSION_COLUMNS, sessionToRow(session));
    await this.#db.run(`INSERT INTO sessions ${text}`, values);
    return { status: "created", evicted: [] };
  }

  async stepUp(sessionId: string, step: StepUp, now: number): Promise<SessionRecord | null> {
    // One statement: GREATEST keeps auth_time from going back; deadlines are not touched.
    const [row] = await this.#db.query(
      `UPDATE sessions SET auth_time = GREATEST(auth_time, $2::bigint),
          acr = CASE WHEN $3::boolean THEN $4::text ELSE acr END,
          amr = CASE WHEN $5::boolean THEN $6::text ELSE amr END
        WHERE id = $1 AND ${live("$7::bigint")} RETURNING *`,
      [
        sessionId,
        step.authTime,
        step.acr !== undefined,
        step.acr ?? null,
        step.amr !== undefined,
        amrToColumn(step.amr ?? null),
        now,
      ],
    );
    return row ? sessionFromRow(row) : null;
  }

  async readSession(id: string): Promise<{ session: SessionRecord; subject: SubjectRecord } | null> {
    const [row] = await this.#db.query(READ_SESSION_SQL, [id]);
    return row ? sessionWithSubjectFromRow(row, postgresColumns) : null;
  }

  async listSessions(
    subjectId: string,
    now: number,
    options: SessionListOptions = {},
  ): Promise<SessionRecord[]> {
    const { text, values } = listSessionsQuery(subjectId, now, options);
    const rows = await this.#db.query(text, values);
    return rows.map(sessionFromRow);
  }

  async renameSession(id: string, deviceName: string): Promise<SessionRecord | null> {
    const [row] = await this.#db.query(
      "UPDATE sessions SET device_name = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING *",
      [id, deviceName],
    );
    return row ? sessionFromRow(row) : null;
  }

  async rotate(request: RotateRequest): Promise<RotateOutcome> {
    // One round trip: the function locks the session row, decides and writes (migrations.ts).
    const [row] = await this.#db.query<{ outcome: Row }>(
      "SELECT rotate_session($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) AS outcome",
      [
        request.sessionId,
        request.clientId,
        request.generation,
        request.presentedHash,
        request.successorHash,
        request.now,
        request.graceMs,
        request.idleTimeoutMs,
        request.budget?.max ?? null,
        request.budget?.windowMs ?? null,
        request.proofJkt ?? null,
        request.deviceBound === true,
      ],
    );
    const outcome = row?.outcome as
      | { status: RotateOutcome["status"]; session?: Row; subject?: Row; resetAt?: number }
      | undefined;
    if (outcome?.status === "limited") return { status: "limited", resetAt: Number(outcome.resetAt) };
    if (outcome?.status === "unbound") return { status: "unbound" };
    if (!outcome?.session || !outcome.subject || outcome.status === "unknown") return { status: "unknown" };
    return {
      status: outcome.status,
      session: sessionFromRow(outcome.session),
      subject: toSubject(outcome.subject),
    };
  }

  async registerDeviceKey(
    sessionId: string,
    key: string,
    now: number,
  ): Promise<"registered" | "taken" | "missing"> {
    // One round trip: the function locks the row, checks and sets (migrations.ts).
    const [row] = await this.#db.query<{ answer: "registered" | "taken" | "missing" }>(
      "SELECT register_device_key($1, $2, $3) AS answer",
      [sessionId, key, now],
    );
    return row?.answer ?? "missing";
  }

  async touchSession(
    id: string,
    now: number,
    idleTimeoutMs: number,
    budget: GrantBudget | null = null,
  ): Promise<SessionRecord | GrantRefusal | null> {
    if (budget) {
      // One round trip: the function locks the row, checks, touches and counts (migrations.ts).
      const [result] = await this.#db.query<{ outcome: { status: string; session?: Row; resetAt?: number } }>(
        "SELECT touch_session($1, $2, $3, $4, $5) AS outcome",
        [id, now, idleTimeoutMs, budget.max, budget.windowMs],
      );
      const outcome = result?.outcome;
      if (outcome?.status === "limited") return { status: "limited", resetAt: Number(outcome.resetAt) };
      return outcome?.session ? sessionFromRow(outcome.session) : null;
    }
    const [row] = await this.#db.query(
      `UPDATE sessions SET last_active_at = $2, idle_expires_at = LEAST($2 + $3::bigint, absolute_expires_at)
        WHERE id = $1 AND ${live("$2::bigint")} RETURNING *`,
      [id, now, idleTimeoutMs],
    );
    return row ? sessionFromRow(row) : null;
  }

  async revokeSession(id: string, reason: RevokeReason, now: number): Promise<SessionRecord | null> {
    const [row] = await this.#db.query("SELECT * FROM revoke_session($1, $2, $3)", [id, reason, now]);
    return row ? sessionFromRow(row) : null;
  }

  async revokeSubjectSessions(
    subjectId: string,
    options: { exceptId?: string; reason: RevokeReason; now: number },
  ): Promise<SessionRecord[]> {
    const rows = await this.#db.query("SELECT * FROM revoke_subject_sessions($1, $2, $3, $4)", [
      subjectId,
      options.exceptId ?? null,
      options.reason,
      options.now,
    ]);
    return rows.map(sessionFromRow);
  }

  async putHandoff(handoff: HandoffRecord): Promise<void> {
    const { text, values } = insertColumns(HANDOFF_COLUMNS, handoffToRow(handoff));
    await this.#db.run(`INSERT INTO handoffs ${text}`, values);
  }

  async takeHandoff(hash: string, now: number): Promise<HandoffRecord | null> {
    // One statement: of concurrent takes (any instance), exactly one deletes the row.
    const [row] = await this.#db.query("DELETE FROM handoffs WHERE hash = $1 RETURNING *", [hash]);
    if (!row || now >= (row.expires_at as number)) return null;
    return handoffFromRow(row);
  }

  async readRevocations(request: RevocationRead): Promise<RevocationPage> {
    const after = request.after === null ? 0 : parseCursor(request.after);
    const rows = await this.#db.query(READ_CHANGES_SQL, [after, request.since ?? null, request.limit]);
    const changes = rows.filter((row) => row.seq !== null).map(changeFromRow);
    const last = changes.at(-1);
    if (last && changes.length >= request.limit) return { changes, cursor: last.cursor };
    // Not full: everything committed when the snapshot was taken has been seen, so the
    // head is a cursor that no later append can come before (appends commit in seq order).
    const head = (rows[0]?.head as number | null) ?? 0;
    return { changes, cursor: String(Math.max(after, head)) };
  }

  /**
   * Wakes `wake` when any instance appends to this schema's changelog (LISTEN/NOTIFY on a
   * connection of its own), and once more whenever that connection is (re)established.
   */
  watchRevocations(wake: () => void): () => void {
    return this.#watch.add(wake);
  }

  async purge(before: number): Promise<number> {
    // One statement: every data-modifying part runs to completion in one transaction.
    const [row] = await this.#db.query<{ deleted: number }>(
      `WITH gone AS (
          DELETE FROM sessions
            WHERE revoked_at < $1 OR idle_expires_at <= $1 OR absolute_expires_at <= $1
            RETURNING 1
        ), changes AS (
          DELETE FROM revocation_changes WHERE at < $1
        ), handoffs AS (
          DELETE FROM handoffs WHERE expires_at < $1
        )
        SELECT count(*) AS deleted FROM gone`,
      [before],
    );
    return row?.deleted ?? 0;
  }
}
