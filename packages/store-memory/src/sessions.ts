import {
  assertSessionLimit,
  type CreateSessionOutcome,
  countGrant,
  type GrantBudget,
  type GrantRefusal,
  type HandoffRecord,
  isSessionExpired,
  isSessionLive,
  planGrant,
  planRotation,
  planSessionLimit,
  planStepUp,
  type RateWindow,
  type RevocationChange,
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
  slideIdleDeadline,
  spendsGrant,
} from "@prolong/core";

/** A change without its cursor, as an operation appends it. */
type NewChange =
  | { kind: "revoked"; sessionId: string; subjectId: string; at: number }
  | { kind: "version"; subjectId: string; version: number; at: number };

/**
 * Sessions, subjects and the revocation changelog in process memory.
 *
 * Every method runs to completion without awaiting in the middle, so on Node's single
 * thread each operation is atomic, which is exactly what the contract asks. Records are
 * copied in and out so callers can never mutate stored state.
 */
export class MemorySessionStore implements SessionStore {
  readonly #subjects = new Map<string, SubjectRecord>();
  readonly #sessions = new Map<string, SessionRecord>();
  /** Each session's grant window (RotateOutcome), gone with the session. */
  readonly #grants = new Map<string, RateWindow>();
  /** Handoffs by the hash of their code. */
  readonly #handoffs = new Map<string, HandoffRecord>();
  /** The revocation changelog; `seq` only grows, even when purge empties the list. */
  readonly #changes: (NewChange & { seq: number })[] = [];
  #seq = 0;
  readonly #watchers = new Set<() => void>();

  async ensureSubject(id: string, now: number): Promise<SubjectRecord> {
    let subject = this.#subjects.get(id);
    if (!subject) {
      subject = {
        id,
        disabled: false,
        tokenVersion: 0,
        reauthRequiredAt: null,
        claims: {},
        createdAt: now,
        updatedAt: now,
      };
      this.#subjects.set(id, subject);
    }
    return structuredClone(subject);
  }

  async findSubject(id: string): Promise<SubjectRecord | null> {
    const subject = this.#subjects.get(id);
    return subject ? structuredClone(subject) : null;
  }

  async updateSubject(id: string, patch: SubjectPatch, now: number): Promise<SubjectRecord | null> {
    const subject = this.#subjects.get(id);
    if (!subject) return null;
    if (patch.disabled !== undefined) subject.disabled = patch.disabled;
    if (patch.reauthRequiredAt !== undefined) subject.reauthRequiredAt = patch.reauthRequiredAt;
    if (patch.claims !== undefined) subject.claims = structuredClone(patch.claims);
    subject.updatedAt = now;
    return structuredClone(subject);
  }

  async bumpTokenVersion(id: string, now: number): Promise<SubjectRecord | null> {
    const subject = this.#subjects.get(id);
    if (!subject) return null;
    subject.tokenVersion += 1;
    subject.updatedAt = now;
    this.#append([{ kind: "version", subjectId: id, version: subject.tokenVersion, at: now }]);
    return structuredClone(subject);
  }

  async createSession(
    session: SessionRecord,
    limit: SessionLimit | null = null,
  ): Promise<CreateSessionOutcome> {
    if (limit) assertSessionLimit(limit);
    if (this.#sessions.has(session.id)) throw new Error(`session ${session.id} exists`);
    let evicted: string[] = [];
    if (limit) {
      const mine = [...this.#sessions.values()].filter((s) => s.subjectId === session.subjectId);
      const plan = planSessionLimit(mine, limit, session.createdAt);
      if (plan.status === "refused") return plan;
      evicted = plan.evicted;
    }
    const revoked: SessionRecord[] = [];
    for (const id of evicted) {
      const victim = this.#sessions.get(id) as SessionRecord;
      victim.revokedAt = session.createdAt;
      victim.revokedReason = "evicted";
      revoked.push(victim);
    }
    this.#appendRevoked(revoked, session.createdAt);
    this.#sessions.set(session.id, structuredClone(session));
    return { status: "created", evicted };
  }

  async readSession(id: string): Promise<{ session: SessionRecord; subject: SubjectRecord } | null> {
    const found = this.#withSubject(id);
    return found && { session: structuredClone(found.session), subject: structuredClone(found.subject) };
  }

  async listSessions(
    subjectId: string,
    now: number,
    options: SessionListOptions = {},
  ): Promise<SessionRecord[]> {
    const { after } = options;
    return [...this.#sessions.values()]
      .filter(
        (s) =>
          s.subjectId === subjectId &&
          (options.ended || isSessionLive(s, now)) &&
          (options.clientId === undefined || s.clientId === options.clientId) &&
          (after === undefined || newestFirst(s, after) > 0),
      )
      .sort(newestFirst)
      .slice(0, options.limit)
      .map((s) => structuredClone(s));
  }

  async renameSession(id: string, deviceName: string): Promise<SessionRecord | null> {
    const session = this.#sessions.get(id);
    if (!session || session.revokedAt !== null) return null;
    session.deviceName = deviceName;
    return structuredClone(session);
  }

  async rotate(request: RotateRequest): Promise<RotateOutcome> {
    const { budget, sessionId, now } = request;
    const window = this.#grants.get(sessionId) ?? null;
    if (budget && this.#sessions.has(sessionId)) {
      const grant = planGrant(window, budget, now);
      if (grant.status === "limited") return grant;
    }
    const found = this.#withSubject(sessionId);
    const plan = planRotation(found?.session ?? null, request);
    if (budget && this.#sessions.has(sessionId) && spendsGrant(plan.status)) {
      this.#grants.set(sessionId, countGrant(window, budget, now));
    }
    if (!found || plan.status === "unknown") return { status: "unknown" };
    if (plan.status === "unbound") return { status: "unbound" };
    const { session, subject } = found;
    if (plan.changes) Object.assign(session, plan.changes);
    if (plan.status === "reused" || plan.status === "mismatched") this.#appendRevoked([session], request.now);
    return { status: plan.status, session: structuredClone(session), subject: structuredClone(subject) };
  }

  async registerDeviceKey(
    sessionId: string,
    key: string,
    now: number,
  ): Promise<"registered" | "taken" | "missing"> {
    const session = this.#sessions.get(sessionId);
    if (!session || !isSessionLive(session, now)) return "missing";
    if (session.deviceKey !== null) return "taken";
    session.deviceKey = key;
    return "registered";
  }

  async stepUp(sessionId: string, step: StepUp, now: number): Promise<SessionRecord | null> {
    const session = this.#sessions.get(sessionId);
    if (!session || !isSessionLive(session, now)) return null;
    Object.assign(session, planStepUp(session, step));
    return structuredClone(session);
  }

  async touchSession(
    id: string,
    now: number,
    idleTimeoutMs: number,
    budget: GrantBudget | null = null,
  ): Promise<SessionRecord | GrantRefusal | null> {
    const session = this.#sessions.get(id);
    if (!session) return null;
    const window = this.#grants.get(id) ?? null;
    if (budget) {
      const grant = planGrant(window, budget, now);
      if (grant.status === "limited") return grant;
    }
    if (!isSessionLive(session, now)) return null;
    session.lastActiveAt = now;
    session.idleExpiresAt = slideIdleDeadline(session, now, idleTimeoutMs);
    if (budget) this.#grants.set(id, countGrant(window, budget, now));
    return structuredClone(session);
  }

  async revokeSession(id: string, reason: RevokeReason, now: number): Promise<SessionRecord | null> {
    const session = this.#sessions.get(id);
    if (!session || session.revokedAt !== null) return null;
    session.revokedAt = now;
    session.revokedReason = reason;
    this.#appendRevoked([session], now);
    return structuredClone(session);
  }

  async revokeSubjectSessions(
    subjectId: string,
    options: { exceptId?: string; reason: RevokeReason; now: number },
  ): Promise<SessionRecord[]> {
    const revoked: SessionRecord[] = [];
    for (const session of this.#sessions.values()) {
      if (session.subjectId !== subjectId || session.id === options.exceptId || session.revokedAt !== null)
        continue;
      session.revokedAt = options.now;
      session.revokedReason = options.reason;
      revoked.push(structuredClone(session));
    }
    this.#appendRevoked(revoked, options.now);
    return revoked;
  }

  async putHandoff(handoff: HandoffRecord): Promise<void> {
    if (this.#handoffs.has(handoff.hash)) throw new Error("handoff exists");
    // A deep copy: `amr` is a list the caller may change afterwards.
    this.#handoffs.set(handoff.hash, structuredClone(handoff));
  }

  async takeHandoff(hash: string, now: number): Promise<HandoffRecord | null> {
    const handoff = this.#handoffs.get(hash);
    if (!handoff) return null;
    this.#handoffs.delete(hash);
    return now < handoff.expiresAt ? handoff : null;
  }

  async readRevocations(request: RevocationRead): Promise<RevocationPage> {
    const after = request.after === null ? 0 : parseCursor(request.after);
    const since = request.since ?? Number.NEGATIVE_INFINITY;
    const changes: RevocationChange[] = [];
    for (const change of this.#changes) {
      if (changes.length >= request.limit) break;
      if (change.seq <= after || change.at < since) continue;
      const { seq, ...rest } = change;
      changes.push({ ...rest, cursor: String(seq) });
    }
    const full = changes.length >= request.limit;
    const last = changes.at(-1);
    const cursor = full && last ? last.cursor : String(Math.max(after, this.#seq));
    return { changes, cursor };
  }

  watchRevocations(wake: () => void): () => void {
    this.#watchers.add(wake);
    return () => this.#watchers.delete(wake);
  }

  async purge(before: number): Promise<number> {
    let deleted = 0;
    for (const [id, s] of this.#sessions) {
      if ((s.revokedAt !== null && s.revokedAt < before) || isSessionExpired(s, before)) {
        this.#sessions.delete(id);
        this.#grants.delete(id);
        deleted++;
      }
    }
    for (const [hash, handoff] of this.#handoffs) {
      if (handoff.expiresAt < before) this.#handoffs.delete(hash);
    }
    for (let i = this.#changes.length - 1; i >= 0; i--) {
      if ((this.#changes[i] as NewChange).at < before) this.#changes.splice(i, 1);
    }
    return deleted;
  }

  /**
   * The stored session and its subject, or `null` when either is missing: a session
   * whose subject is gone is as unknown as a missing one, as a join would find it.
   */
  #withSubject(id: string): { session: SessionRecord; subject: SubjectRecord } | null {
    const session = this.#sessions.get(id);
    const subject = session && this.#subjects.get(session.subjectId);
    return session && subject ? { session, subject } : null;
  }

  #appendRevoked(sessions: readonly SessionRecord[], at: number): void {
    this.#append(sessions.map((s) => ({ kind: "revoked", sessionId: s.id, subjectId: s.subjectId, at })));
  }

  #append(changes: readonly NewChange[]): void {
    if (changes.length === 0) return;
    for (const change of changes) this.#changes.push({ ...change, seq: ++this.#seq });
    // After the operation has returned, so a watcher that reads at once sees its result.
    queueMicrotask(() => {
      for (const wake of this.#watchers) wake();
    });
  }
}

/** The listing order of `listSessions`: newest first, then by id, greatest first. */
function newestFirst(a: Pick<SessionRecord, "createdAt" | "id">, b: Pick<SessionRecord, "createdAt" | "id">) {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function parseCursor(cursor: string): number {
  const seq = Number(cursor);
  if (!/^\d+$/.test(cursor) || !Number.isSafeInteger(seq))
    throw new TypeError(`not a cursor of this store: ${cursor}`);
  return seq;
}
