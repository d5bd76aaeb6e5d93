import {
  assertSessionLimit,
  type CreateSessionOutcome,
  countGrant,
  type GrantBudget,
  type GrantRefusal,
  type HandoffRecord,
  planGrant,
  planRotation,
  planSessionLimit,
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
  spendsGrant,
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
import type Database from "better-sqlite3";
import { insertColumns, type Row, sqliteColumns } from "./database.js";
import type { Attempt } from "./lock-wait.js";
import { type GuardedStatement, guard, guardStatements } from "./unavailable.js";

const SUBJECT_SELECT = SUBJECT_COLUMNS.join(", ");

/**
 * The hot read: a session and its subject by primary keys, in one statement. Subject
 * columns are prefixed so they do not shadow the session's. Exported for the query-plan test.
 */
export const READ_SESSION_SQL = `SELECT ${SESSION_COLUMNS.map((c) => `s.${c}`).join(", ")},
    ${joinedSubjectColumns("u")}
  FROM sessions AS s JOIN subjects AS u ON u.id = s.subject_id
  WHERE s.id = ?`;

/** Live at :now — the SQL twin of `isSessionLive`. */
const LIVE = `revoked_at IS NULL AND idle_expires_at > :now
  AND (absolute_expires_at IS NULL OR absolute_expires_at > :now)`;

/**
 * A subject's sessions for one combination of `listSessions` options, newest first, ties
 * by id. The index `sessions_subject (subject_id, created_at)` gives the order; only
 * sessions of one millisecond are sorted by id, so a page is still a range read.
 * Exported for the query-plan test.
 */
export function listSessionsSql(options: { ended: boolean; client: boolean; paged: boolean }): string {
  const where = ["subject_id = :subject_id"];
  if (!options.ended) where.push(LIVE);
  if (options.client) where.push("client_id = :client_id");
  if (options.paged) where.push("(created_at, id) < (:after_created_at, :after_id)");
  // A negative LIMIT is no limit in SQLite.
  return `SELECT * FROM sessions WHERE ${where.join(" AND ")}
  ORDER BY created_at DESC, id DESC LIMIT :limit`;
}

const toSubject = (row: Row) => subjectFromRow(row, sqliteColumns);
const toSessionWithSubject = (row: Row) => sessionWithSubjectFromRow(row, sqliteColumns);

/** Cursors of this store are the changelog's `seq`, written in decimal. */
function parseCursor(cursor: string): number {
  const seq = Number(cursor);
  if (!/^\d+$/.test(cursor) || !Number.isSafeInteger(seq))
    throw new TypeError(`not a cursor of this store: ${cursor}`);
  return seq;
}

/**
 * Sessions, subjects and the revocation changelog on SQLite. Every read-modify-write
 * runs in a `BEGIN IMMEDIATE` transaction, so several processes sharing the file still
 * settle races in the database; each revoking write commits with its changelog entry.
 */
export class SqliteSessionStore implements SessionStore {
  readonly #db: Database.Database;
  readonly #attempt: Attempt;
  readonly #s;
  readonly #rotate;
  readonly #budgetedTouch;
  readonly #registerDeviceKey;
  readonly #createLimited;
  readonly #revokeOne;
  readonly #revokeSubject;
  readonly #bumpVersion;
  readonly #readRevocations;
  readonly #purge;
  readonly #watchers = new Set<() => void>();
  readonly #lists = new Map<string, GuardedStatement>();

  constructor(db: Database.Database, attempt: Attempt) {
    this.#db = db;
    this.#attempt = attempt;
    this.#s = guardStatements(db, {
      subjectById: db.prepare(`SELECT ${SUBJECT_SELECT} FROM subjects WHERE id = ?`),
      insertSubject: db.prepare(`INSERT INTO subjects (id, created_at, updated_at) VALUES (:id, :now, :now)
        ON CONFLICT DO NOTHING RETURNING ${SUBJECT_SELECT}`),
      updateSubject: db.prepare(`UPDATE subjects SET
          disabled = CASE WHEN :set_disabled THEN :disabled ELSE disabled END,
          reauth_required_at = CASE WHEN :set_reauth THEN :reauth_required_at ELSE reauth_required_at END,
          claims = CASE WHEN :set_claims THEN :claims ELSE claims END,
          updated_at = :now
        WHERE id = :id RETURNING ${SUBJECT_SELECT}`),
      bumpVersion: db.prepare(`UPDATE subjects SET token_version = token_version + 1,
        updated_at = :now WHERE id = :id RETURNING ${SUBJECT_SELECT}`),
      insertSession: db.prepare(`INSERT INTO sessions ${insertColumns(SESSION_COLUMNS)}`),
      readSession: db.prepare(READ_SESSION_SQL),
      rename: db.prepare(
        "UPDATE sessions SET device_name = :name WHERE id = :id AND revoked_at IS NULL RETURNING *",
      ),
      applyRotation:
        db.prepare(`UPDATE sessions SET previous_hash = :previous_hash, current_hash = :current_hash,
        generation = :generation, rotated_at = :rotated_at, last_active_at = :last_active_at,
        idle_expires_at = :idle_expires_at WHERE id = :id`),
      grantWindow: db.prepare(
        "SELECT grant_count AS count, grant_reset_at AS resetAt FROM sessions WHERE id = ?",
      ),
      // The subject's own live sessions at the new one's start (SessionLimit in @prolong/core).
      limitCandidates: db.prepare(`SELECT * FROM sessions
        WHERE subject_id = :subject_id AND actor IS NULL AND ${LIVE}`),
      stepUp: db.prepare(`UPDATE sessions SET auth_time = MAX(auth_time, :auth_time),
          acr = CASE WHEN :set_acr THEN :acr ELSE acr END,
          amr = CASE WHEN :set_amr THEN :amr ELSE amr END
        WHERE id = :id AND ${LIVE} RETURNING *`),
      liveDeviceKey: db.prepare(`SELECT device_key FROM sessions WHERE id = :id AND ${LIVE}`),
      setDeviceKey: db.prepare("UPDATE sessions SET device_key = :key WHERE id = :id"),
      countGrant: db.prepare(
        "UPDATE sessions SET grant_count = :count, grant_reset_at = :reset_at WHERE id = :id",
      ),
      touch: db.prepare(`UPDATE sessions SET last_active_at = :now,
          idle_expires_at = CASE WHEN absolute_expires_at IS NULL THEN :idle ELSE MIN(:idle, absolute_expires_at) END
        WHERE id = :id AND ${LIVE} RETURNING *`),
      revokeOne: db.prepare(`UPDATE sessions SET revoked_at = :now, revoked_reason = :reason
        WHERE id = :id AND revoked_at IS NULL RETURNING *`),
      revokeSubject: db.prepare(`UPDATE sessions SET revoked_at = :now, revoked_reason = :reason
        WHERE subject_id = :subject_id AND revoked_at IS NULL AND id IS NOT :except_id RETURNING *`),
      appendChange: db.prepare(`INSERT INTO revocation_changes (kind, subject_id, session_id, version, at)
        VALUES (:kind, :subject_id, :session_id, :version, :at)`),
      readChanges: db.prepare(`SELECT * FROM revocation_changes
        WHERE seq > :after AND (:since IS NULL OR at >= :since) ORDER BY seq LIMIT :limit`),
      lastChange: db.prepare("SELECT max(seq) AS seq FROM revocation_changes"),
      // INDEXED BY: left alone, SQLite walks the sequence from the oldest row to find the minimum.
      firstChangeSince: db.prepare(
        "SELECT min(seq) AS seq FROM revocation_changes INDEXED BY revocation_changes_at WHERE at >= ?",
      ),
      purgeSessions: db.prepare(`DELETE FROM sessions WHERE revoked_at < :before OR idle_expires_at <= :before
        OR absolute_expires_at <= :before`),
      purgeChanges: db.prepare("DELETE FROM revocation_changes WHERE at < ?"),
      insertHandoff: db.prepare(`INSERT INTO handoffs ${insertColumns(HANDOFF_COLUMNS)}`),
      // One statement: of concurrent takes (any process), exactly one deletes the row.
      takeHandoff: db.prepare("DELETE FROM handoffs WHERE hash = ? RETURNING *"),
      purgeHandoffs: db.prepare("DELETE FROM handoffs WHERE expires_at < ?"),
    });

    const s = this.#s;
    const appendRevoked = (sessions: readonly SessionRecord[], at: number) => {
      for (const session of sessions) {
        s.appendChange.run({
          kind: "revoked",
          subject_id: session.subjectId,
          session_id: session.id,
          version: null,
          at,
        });
      }
    };
    // Read, decide (planRotation, the rule every store shares) and write under one lock.
    // The grant budget too (planGrant), checked before and counted after, in the same transaction.
    this.#rotate = db.transaction((request: RotateRequest): RotateOutcome => {
      const { budget, sessionId, now } = request;
      const stored = budget
        ? ((s.grantWindow.get(sessionId) as { count: number; resetAt: number | null } | undefined) ?? null)
        : null;
      const window =
        stored && stored.resetAt !== null ? { count: stored.count, resetAt: stored.resetAt } : null;
      if (budget && stored) {
        const grant = planGrant(window, budget, now);
        if (grant.status === "limited") return grant;
      }
      const row = s.readSession.get(sessionId) as Row | undefined;
      const found = row ? toSessionWithSubject(row) : null;
      const plan = planRotation(found?.session ?? null, request);
      if (budget && stored && spendsGrant(plan.status)) {
        const counted = countGrant(window, budget, now);
        s.countGrant.run({ id: sessionId, count: counted.count, reset_at: counted.resetAt });
      }
      if (!found || plan.status === "unknown") return { status: "unknown" };
      if (plan.status === "unbound") return { status: "unbound" };
      const { session, subject } = found;
      if (plan.changes) {
        Object.assign(session, plan.changes);
        if (plan.status === "reused" || plan.status === "mismatched") {
          s.revokeOne.run({ id: session.id, now: session.revokedAt, reason: session.revokedReason });
          appendRevoked([session], request.now);
        } else {
          s.applyRotation.run({
            id: session.id,
            previous_hash: session.previousHash,
            current_hash: session.currentHash,
            generation: session.generation,
            rotated_at: session.rotatedAt,
            last_active_at: session.lastActiveAt,
            idle_expires_at: session.idleExpiresAt,
          });
        }
      }
      return { status: plan.status, session, subject };
    });
    // The exchange's touch under the grant budget: checked, touched and counted together.
    this.#budgetedTouch = db.transaction(
      (
        id: string,
        now: number,
        idleTimeoutMs: number,
        budget: GrantBudget,
      ): SessionRecord | GrantRefusal | null => {
        const stored = s.grantWindow.get(id) as { count: number; resetAt: number | null } | undefined;
        if (!stored) return null;
        const window = stored.resetAt === null ? null : { count: stored.count, resetAt: stored.resetAt };
        const grant = planGrant(window, budget, now);
        if (grant.status === "limited") return grant;
        const row = s.touch.get({ id, now, idle: now + idleTimeoutMs }) as Row | undefined;
        if (!row) return null;
        const counted = countGrant(window, budget, now);
        s.countGrant.run({ id, count: counted.count, reset_at: counted.resetAt });
        return sessionFromRow(row);
      },
    );
    // Read and set under one lock, so of racing registrations one wins and the rest see its key.
    this.#registerDeviceKey = db.transaction(
      (id: string, key: string, now: number): "registered" | "taken" | "missing" => {
        const row = s.liveDeviceKey.get({ id, now }) as { device_key: string | null } | undefined;
        if (!row) return "missing";
        if (row.device_key !== null) return "taken";
        s.setDeviceKey.run({ id, key });
        return "registered";
      },
    );
    // Count, evict and insert under one write lock: every process on the file takes the
    // same lock, so racing sign-ins are counted one after another.
    this.#createLimited = db.transaction(
      (session: SessionRecord, limit: SessionLimit): CreateSessionOutcome => {
        const rows = s.limitCandidates.all({
          subject_id: session.subjectId,
          now: session.createdAt,
        }) as Row[];
        const plan = planSessionLimit(rows.map(sessionFromRow), limit, session.createdAt);
        if (plan.status === "refused") return plan;
        const evicted: SessionRecord[] = [];
        for (const id of plan.evicted) {
          const row = s.revokeOne.get({ id, now: session.createdAt, reason: "evicted" }) as Row;
          evicted.push(sessionFromRow(row));
        }
        appendRevoked(evicted, session.createdAt);
        s.insertSession.run(sessionToRow(session));
        return plan;
      },
    );
    // Each revoking write and its changelog entry commit together, or neither does.
    this.#revokeOne = db.transaction((params: Row): SessionRecord | null => {
      const row = s.revokeOne.get(params) as Row | undefined;
      if (!row) return null;
      const session = sessionFromRow(row);
      appendRevoked([session], params.now as number);
      return session;
    });
    this.#revokeSubject = db.transaction((params: Row): SessionRecord[] => {
      const sessions = (s.revokeSubject.all(params) as Row[]).map(sessionFromRow);
      appendRevoked(sessions, params.now as number);
      return sessions;
    });
    this.#bumpVersion = db.transaction((id: string, now: number): SubjectRecord | null => {
      const row = s.bumpVersion.get({ id, now }) as Row | undefined;
      if (!row) return null;
      const subject = toSubject(row);
      s.appendChange.run({
        kind: "version",
        subject_id: id,
        session_id: null,
        version: subject.tokenVersion,
        at: now,
      });
      return subject;
    });
    // One read transaction, so the rows and the head come from the same snapshot.
    this.#readRevocations = db.transaction((after: number, since: number | null, limit: number) => {
      // The snapshot asks for the last minutes of a changelog kept for weeks: start at the
      // first recent change (found through the `at` index), not at the oldest row.
      const first =
        since === null ? after + 1 : (s.firstChangeSince.get(since) as { seq: number | null }).seq;
      const rows =
        first === null
          ? []
          : (s.readChanges.all({ after: Math.max(after, first - 1), since, limit }) as Row[]);
      const changes = rows.map(changeFromRow);
      const last = changes.at(-1);
      if (last && changes.length >= limit) return { changes, cursor: last.cursor };
      const head = (s.lastChange.get() as { seq: number | null }).seq ?? 0;
      return { changes, cursor: String(Math.max(after, head)) };
    });
    // One transaction, so a purge retried after meeting a lock starts from the beginning.
    this.#purge = db.transaction((before: number): number => {
      const deleted = s.purgeSessions.run({ before }).changes;
      s.purgeChanges.run(before);
      s.purgeHandoffs.run(before);
      return deleted;
    });
  }

  /** Wakes this process's watchers after one of its own revoking writes has committed. */
  #changed(): void {
    if (this.#watchers.size === 0) return;
    queueMicrotask(() => {
      for (const wake of this.#watchers) wake();
    });
  }

  async ensureSubject(id: string, now: number): Promise<SubjectRecord> {
    // Read first: the subject usually exists, and a read takes no write lock.
    const row = (await this.#attempt(
      () =>
        this.#s.subjectById.get(id) ??
        this.#s.insertSubject.get({ id, now }) ??
        // Another connection inserted it between our read and our insert.
        this.#s.subjectById.get(id),
    )) as Row;
    return toSubject(row);
  }

  async findSubject(id: string): Promise<SubjectRecord | null> {
    const row = (await this.#attempt(() => this.#s.subjectById.get(id))) as Row | undefined;
    return row ? toSubject(row) : null;
  }

  async updateSubject(id: string, patch: SubjectPatch, now: number): Promise<SubjectRecord | null> {
    const params = {
      id,
      now,
      set_disabled: patch.disabled === undefined ? 0 : 1,
      disabled: patch.disabled ? 1 : 0,
      set_reauth: patch.reauthRequiredAt === undefined ? 0 : 1,
      reauth_required_at: patch.reauthRequiredAt ?? null,
      set_claims: patch.claims === undefined ? 0 : 1,
      claims: JSON.stringify(patch.claims ?? {}),
    };
    const row = (await this.#attempt(() => this.#s.updateSubject.get(params))) as Row | undefined;
    return row ? toSubject(row) : null;
  }

  async bumpTokenVersion(id: string, now: number): Promise<SubjectRecord | null> {
    const subject = await this.#attempt(() => this.#bumpVersion.immediate(id, now));
    if (subject) this.#changed();
    return subject;
  }

  async createSession(
    session: SessionRecord,
    limit: SessionLimit | null = null,
  ): Promise<CreateSessionOutcome> {
    if (limit) {
      assertSessionLimit(limit);
      const outcome = await this.#attempt(() => this.#createLimited.immediate(session, limit));
      if (outcome.status === "created" && outcome.evicted.length > 0) this.#changed();
      return outcome;
    }
    const params = sessionToRow(session);
    await this.#attempt(() => this.#s.insertSession.run(params));
    return { status: "created", evicted: [] };
  }

  async stepUp(sessionId: string, step: StepUp, now: number): Promise<SessionRecord | null> {
    const params = {
      id: sessionId,
      now,
      auth_time: step.authTime,
      set_acr: step.acr === undefined ? 0 : 1,
      acr: step.acr ?? null,
      set_amr: step.amr === undefined ? 0 : 1,
      amr: amrToColumn(step.amr ?? null),
    };
    const row = (await this.#attempt(() => this.#s.stepUp.get(params))) as Row | undefined;
    return row ? sessionFromRow(row) : null;
  }

  async readSession(id: string): Promise<{ session: SessionRecord; subject: SubjectRecord } | null> {
    const row = (await this.#attempt(() => this.#s.readSession.get(id))) as Row | undefined;
    return row ? toSessionWithSubject(row) : null;
  }

  async listSessions(
    subjectId: string,
    now: number,
    options: SessionListOptions = {},
  ): Promise<SessionRecord[]> {
    const shape = {
      ended: options.ended === true,
      client: options.clientId !== undefined,
      paged: options.after !== undefined,
    };
    const params: Row = { subject_id: subjectId, limit: options.limit ?? -1 };
    if (!shape.ended) params.now = now;
    if (options.clientId !== undefined) params.client_id = options.clientId;
    if (options.after) {
      params.after_created_at = options.after.createdAt;
      params.after_id = options.after.id;
    }
    const rows = await this.#attempt(() => this.#listStatement(shape).all(params));
    return (rows as Row[]).map(sessionFromRow);
  }

  /** One prepared statement per combination of options, prepared on first use. */
  #listStatement(shape: { ended: boolean; client: boolean; paged: boolean }): GuardedStatement {
    const key = `${shape.ended}|${shape.client}|${shape.paged}`;
    let statement = this.#lists.get(key);
    if (!statement) {
      const sql = listSessionsSql(shape);
      statement = guardStatements(this.#db, { list: guard(this.#db, () => this.#db.prepare(sql)) }).list;
      this.#lists.set(key, statement);
    }
    return statement;
  }

  async renameSession(id: string, deviceName: string): Promise<SessionRecord | null> {
    const row = (await this.#attempt(() => this.#s.rename.get({ id, name: deviceName }))) as Row | undefined;
    return row ? sessionFromRow(row) : null;
  }

  async rotate(request: RotateRequest): Promise<RotateOutcome> {
    // BEGIN IMMEDIATE itself may find the database locked: then the whole transaction runs again.
    const outcome = await this.#attempt(() => this.#rotate.immediate(request));
    if (outcome.status === "reused" || outcome.status === "mismatched") this.#changed();
    return outcome;
  }

  async registerDeviceKey(
    sessionId: string,
    key: string,
    now: number,
  ): Promise<"registered" | "taken" | "missing"> {
    return this.#attempt(() => this.#registerDeviceKey.immediate(sessionId, key, now));
  }

  async touchSession(
    id: string,
    now: number,
    idleTimeoutMs: number,
    budget: GrantBudget | null = null,
  ): Promise<SessionRecord | GrantRefusal | null> {
    if (budget) return this.#attempt(() => this.#budgetedTouch.immediate(id, now, idleTimeoutMs, budget));
    const row = (await this.#attempt(() => this.#s.touch.get({ id, now, idle: now + idleTimeoutMs }))) as
      | Row
      | undefined;
    return row ? sessionFromRow(row) : null;
  }

  async revokeSession(id: string, reason: RevokeReason, now: number): Promise<SessionRecord | null> {
    const session = await this.#attempt(() => this.#revokeOne.immediate({ id, reason, now }));
    if (session) this.#changed();
    return session;
  }

  async revokeSubjectSessions(
    subjectId: string,
    options: { exceptId?: string; reason: RevokeReason; now: number },
  ): Promise<SessionRecord[]> {
    const params = {
      subject_id: subjectId,
      except_id: options.exceptId ?? null,
      reason: options.reason,
      now: options.now,
    };
    const sessions = await this.#attempt(() => this.#revokeSubject.immediate(params));
    if (sessions.length > 0) this.#changed();
    return sessions;
  }

  async putHandoff(handoff: HandoffRecord): Promise<void> {
    const params = handoffToRow(handoff);
    await this.#attempt(() => this.#s.insertHandoff.run(params));
  }

  async takeHandoff(hash: string, now: number): Promise<HandoffRecord | null> {
    const row = (await this.#attempt(() => this.#s.takeHandoff.get(hash))) as Row | undefined;
    if (!row || now >= (row.expires_at as number)) return null;
    return handoffFromRow(row);
  }

  async readRevocations(request: RevocationRead): Promise<RevocationPage> {
    const after = request.after === null ? 0 : parseCursor(request.after);
    return this.#attempt(() => this.#readRevocations(after, request.since ?? null, request.limit));
  }

  /**
   * Wakes on this process's own writes only; other processes' changes are found by
   * polling `readRevocations`, which SQLite answers from an index in microseconds.
   */
  watchRevocations(wake: () => void): () => void {
    this.#watchers.add(wake);
    return () => this.#watchers.delete(wake);
  }

  async purge(before: number): Promise<number> {
    return this.#attempt(() => this.#purge.immediate(before));
  }
}
