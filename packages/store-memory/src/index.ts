import {
  isSessionExpired,
  isSessionLive,
  type KeyPromotion,
  type NewUser,
  planRotation,
  type RevocationChange,
  type RevocationPage,
  type RevocationRead,
  type RevokeReason,
  type RotateOutcome,
  type RotateRequest,
  type SecurityEvent,
  type SessionRecord,
  type SessionStore,
  type StoredKey,
  slideIdleDeadline,
  type UserPatch,
  type UserRecord,
} from "@prolong/core";

/** A change without its cursor, as an operation appends it. */
type NewChange =
  | { kind: "revoked"; sessionId: string; userId: string; at: number }
  | { kind: "version"; userId: string; version: number; at: number };

/**
 * The reference store: everything in process memory, lost on exit.
 *
 * Every method runs to completion without awaiting in the middle, so on Node's
 * single thread each operation is atomic, which is exactly what the contract asks.
 * Records are copied in and out so callers can never mutate stored state.
 */
export class MemoryStore implements SessionStore {
  readonly #users = new Map<string, UserRecord>();
  readonly #userIdsByName = new Map<string, string>();
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #events: SecurityEvent[] = [];
  readonly #keys = new Map<string, StoredKey>();
  readonly #secrets = new Map<string, string>();
  /** Readiness heartbeats written by `ping`; memory can always write, but the contract asks for it. */
  #heartbeats = 0;
  /** The revocation changelog; `seq` only grows, even when purge empties the list. */
  readonly #changes: (NewChange & { seq: number })[] = [];
  #seq = 0;
  readonly #watchers = new Set<() => void>();

  async createUser(user: NewUser): Promise<UserRecord | null> {
    if (this.#users.has(user.id) || this.#userIdsByName.has(user.username)) return null;
    const record: UserRecord = {
      ...structuredClone(user),
      tokenVersion: 0,
      reauthRequiredAt: null,
      updatedAt: user.createdAt,
    };
    this.#users.set(record.id, record);
    this.#userIdsByName.set(record.username, record.id);
    return structuredClone(record);
  }

  async findUser(id: string): Promise<UserRecord | null> {
    const user = this.#users.get(id);
    return user ? structuredClone(user) : null;
  }

  async findUserByName(username: string): Promise<UserRecord | null> {
    const id = this.#userIdsByName.get(username);
    return id === undefined ? null : this.findUser(id);
  }

  async listUsers(options: { limit: number; after?: string }): Promise<UserRecord[]> {
    const after = options.after;
    return [...this.#users.values()]
      .filter((u) => after === undefined || u.username > after)
      .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0))
      .slice(0, options.limit)
      .map((u) => structuredClone(u));
  }

  async updateUser(id: string, patch: UserPatch, now: number): Promise<UserRecord | null> {
    const user = this.#users.get(id);
    if (!user) return null;
    if (patch.passwordHash !== undefined) user.passwordHash = patch.passwordHash;
    if (patch.disabled !== undefined) user.disabled = patch.disabled;
    if (patch.reauthRequiredAt !== undefined) user.reauthRequiredAt = patch.reauthRequiredAt;
    if (patch.claims !== undefined) user.claims = structuredClone(patch.claims);
    user.updatedAt = now;
    return structuredClone(user);
  }

  async bumpTokenVersion(id: string, now: number): Promise<UserRecord | null> {
    const user = this.#users.get(id);
    if (!user) return null;
    user.tokenVersion += 1;
    user.updatedAt = now;
    this.#append([{ kind: "version", userId: id, version: user.tokenVersion, at: now }]);
    return structuredClone(user);
  }

  async createSession(session: SessionRecord): Promise<void> {
    if (this.#sessions.has(session.id)) throw new Error(`session ${session.id} exists`);
    this.#sessions.set(session.id, structuredClone(session));
  }

  async findSession(id: string): Promise<SessionRecord | null> {
    const session = this.#sessions.get(id);
    return session ? structuredClone(session) : null;
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    // Reversed first so that, the sort being stable, ties list the later-created session first.
    return [...this.#sessions.values()]
      .reverse()
      .filter((s) => s.userId === userId && isSessionLive(s, now))
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((s) => structuredClone(s));
  }

  async renameSession(id: string, deviceName: string): Promise<SessionRecord | null> {
    const session = this.#sessions.get(id);
    if (!session || session.revokedAt !== null) return null;
    session.deviceName = deviceName;
    return structuredClone(session);
  }

  async rotate(request: RotateRequest): Promise<RotateOutcome> {
    const session = this.#sessions.get(request.sessionId) ?? null;
    const plan = planRotation(session, request);
    if (!session || plan.status === "unknown") return { status: "unknown" };
    if (plan.changes) Object.assign(session, plan.changes);
    if (plan.status === "reused") this.#appendRevoked([session], request.now);
    return { status: plan.status, session: structuredClone(session) };
  }

  async touchSession(id: string, now: number, idleTimeoutMs: number): Promise<SessionRecord | null> {
    const session = this.#sessions.get(id);
    if (!session || !isSessionLive(session, now)) return null;
    session.lastActiveAt = now;
    session.idleExpiresAt = slideIdleDeadline(session, now, idleTimeoutMs);
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

  async revokeUserSessions(
    userId: string,
    options: { exceptId?: string; reason: RevokeReason; now: number },
  ): Promise<SessionRecord[]> {
    const revoked: SessionRecord[] = [];
    for (const session of this.#sessions.values()) {
      if (session.userId !== userId || session.id === options.exceptId || session.revokedAt !== null)
        continue;
      session.revokedAt = options.now;
      session.revokedReason = options.reason;
      revoked.push(structuredClone(session));
    }
    this.#appendRevoked(revoked, options.now);
    return revoked;
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

  #appendRevoked(sessions: readonly SessionRecord[], at: number): void {
    this.#append(sessions.map((s) => ({ kind: "revoked", sessionId: s.id, userId: s.userId, at })));
  }

  #append(changes: readonly NewChange[]): void {
    if (changes.length === 0) return;
    for (const change of changes) this.#changes.push({ ...change, seq: ++this.#seq });
    // After the operation has returned, so a watcher that reads at once sees its result.
    queueMicrotask(() => {
      for (const wake of this.#watchers) wake();
    });
  }

  async recordEvent(event: SecurityEvent): Promise<void> {
    this.#events.push(structuredClone(event));
  }

  async listEvents(filter: { userId?: string; sessionId?: string; limit: number }): Promise<SecurityEvent[]> {
    const out: SecurityEvent[] = [];
    // Newest first: walk backwards, events are appended in time order.
    for (let i = this.#events.length - 1; i >= 0 && out.length < filter.limit; i--) {
      const e = this.#events[i] as SecurityEvent;
      if (filter.userId !== undefined && e.userId !== filter.userId) continue;
      if (filter.sessionId !== undefined && e.sessionId !== filter.sessionId) continue;
      out.push(structuredClone(e));
    }
    return out;
  }

  async putKey(key: StoredKey): Promise<boolean> {
    if (this.#keys.has(key.kid)) return false;
    this.#keys.set(key.kid, { ...key });
    return true;
  }

  async listKeys(): Promise<StoredKey[]> {
    return [...this.#keys.values()]
      .sort((a, b) => a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0))
      .map((k) => ({ ...k }));
  }

  async promoteKey(promotion: KeyPromotion): Promise<boolean> {
    const next = this.#keys.get(promotion.next);
    if (!next || next.activatedAt !== null || next.retiredAt !== null) return false;
    const active = [...this.#keys.values()].filter((k) => k.activatedAt !== null && k.retiredAt === null);
    const seen = promotion.active;
    if (seen === null ? active.length > 0 : !active.some((k) => k.kid === seen)) return false;
    for (const key of active) key.retiredAt = promotion.now;
    next.activatedAt = promotion.now;
    return true;
  }

  async deleteKey(kid: string): Promise<boolean> {
    return this.#keys.delete(kid);
  }

  async claimSecret(name: string, candidate: string): Promise<string> {
    const existing = this.#secrets.get(name);
    if (existing !== undefined) return existing;
    this.#secrets.set(name, candidate);
    return candidate;
  }

  async purge(before: number): Promise<number> {
    let deleted = 0;
    for (const [id, s] of this.#sessions) {
      const ended = (s.revokedAt !== null && s.revokedAt < before) || isSessionExpired(s, before);
      if (ended) {
        this.#sessions.delete(id);
        deleted++;
      }
    }
    for (let i = this.#events.length - 1; i >= 0; i--) {
      if ((this.#events[i] as SecurityEvent).at < before) this.#events.splice(i, 1);
    }
    for (let i = this.#changes.length - 1; i >= 0; i--) {
      if ((this.#changes[i] as NewChange).at < before) this.#changes.splice(i, 1);
    }
    return deleted;
  }

  async ping(): Promise<void> {
    this.#heartbeats += 1;
  }

  async close(): Promise<void> {}
}

function parseCursor(cursor: string): number {
  const seq = Number(cursor);
  if (!/^\d+$/.test(cursor) || !Number.isSafeInteger(seq))
    throw new TypeError(`not a cursor of this store: ${cursor}`);
  return seq;
}
