import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import {
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
  type UserPatch,
  type UserRecord,
} from "@prolong/core";
import Database from "better-sqlite3";
import { migrations } from "./migrations.js";
import { guard, guardStatements } from "./unavailable.js";

export interface SqliteStoreOptions {
  /** Database file; created with its directory on first use. `:memory:` for a private in-memory database. */
  path: string;
  /**
   * How long a write waits for another connection's lock, in ms, before the operation
   * fails with `store_unavailable`. Default 5000.
   */
  busyTimeout?: number;
}

type Row = Record<string, unknown>;

const USER_COLUMNS = `id, username, password_hash, disabled, token_version,
  reauth_required_at, claims, created_at, updated_at`;

function toUser(row: Row): UserRecord {
  return {
    id: row.id as string,
    username: row.username as string,
    passwordHash: (row.password_hash as string | null) ?? null,
    disabled: row.disabled === 1,
    tokenVersion: row.token_version as number,
    reauthRequiredAt: (row.reauth_required_at as number | null) ?? null,
    claims: JSON.parse(row.claims as string) as Record<string, unknown>,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
  };
}

function toSession(row: Row): SessionRecord {
  return {
    id: row.id as string,
    userId: row.user_id as string,
    clientId: row.client_id as string,
    deviceName: (row.device_name as string | null) ?? null,
    userAgent: (row.user_agent as string | null) ?? null,
    ip: (row.ip as string | null) ?? null,
    createdAt: row.created_at as number,
    authTime: row.auth_time as number,
    lastActiveAt: row.last_active_at as number,
    idleExpiresAt: row.idle_expires_at as number,
    absoluteExpiresAt: (row.absolute_expires_at as number | null) ?? null,
    tokenVersion: row.token_version as number,
    generation: row.generation as number,
    currentHash: row.current_hash as string,
    previousHash: (row.previous_hash as string | null) ?? null,
    rotatedAt: (row.rotated_at as number | null) ?? null,
    revokedAt: (row.revoked_at as number | null) ?? null,
    revokedReason: (row.revoked_reason as string | null) ?? null,
  };
}

function toKey(row: Row): StoredKey {
  return {
    kid: row.kid as string,
    alg: row.alg as string,
    privateKey: row.private_key as string,
    publicJwk: (row.public_jwk as string | null) ?? null,
    createdAt: row.created_at as number,
    activatedAt: (row.activated_at as number | null) ?? null,
    retiredAt: (row.retired_at as number | null) ?? null,
  };
}

function toChange(row: Row): RevocationChange {
  const cursor = String(row.seq);
  const at = row.at as number;
  const userId = row.user_id as string;
  return row.kind === "revoked"
    ? { cursor, kind: "revoked", sessionId: row.session_id as string, userId, at }
    : { cursor, kind: "version", userId, version: row.version as number, at };
}

/** Cursors of this store are the changelog's `seq`, written in decimal. */
function parseCursor(cursor: string): number {
  const seq = Number(cursor);
  if (!/^\d+$/.test(cursor) || !Number.isSafeInteger(seq))
    throw new TypeError(`not a cursor of this store: ${cursor}`);
  return seq;
}

function toEvent(row: Row): SecurityEvent {
  return {
    id: row.id as string,
    type: row.type as string,
    userId: (row.user_id as string | null) ?? null,
    sessionId: (row.session_id as string | null) ?? null,
    at: row.at as number,
    detail: JSON.parse(row.detail as string) as Record<string, unknown>,
  };
}

/** Named parameters of a session row, as the statements below spell them. */
function sessionParams(s: SessionRecord): Row {
  return {
    id: s.id,
    user_id: s.userId,
    client_id: s.clientId,
    device_name: s.deviceName,
    user_agent: s.userAgent,
    ip: s.ip,
    created_at: s.createdAt,
    auth_time: s.authTime,
    last_active_at: s.lastActiveAt,
    idle_expires_at: s.idleExpiresAt,
    absolute_expires_at: s.absoluteExpiresAt,
    token_version: s.tokenVersion,
    generation: s.generation,
    current_hash: s.currentHash,
    previous_hash: s.previousHash,
    rotated_at: s.rotatedAt,
    revoked_at: s.revokedAt,
    revoked_reason: s.revokedReason,
  };
}

/** Live at :now — the SQL twin of `isSessionLive`. */
const LIVE = `revoked_at IS NULL AND idle_expires_at > :now
  AND (absolute_expires_at IS NULL OR absolute_expires_at > :now)`;

/** Applies the migrations this file has not seen yet, each in its own write transaction. */
function migrate(db: Database.Database): void {
  const apply = db.transaction((index: number, sql: string) => {
    // Re-read inside the lock: another process may have migrated meanwhile.
    if ((db.pragma("user_version", { simple: true }) as number) !== index) return;
    db.exec(sql);
    db.pragma(`user_version = ${index + 1}`);
  });
  migrations.forEach((sql, index) => {
    if ((db.pragma("user_version", { simple: true }) as number) <= index) apply.immediate(index, sql);
  });
}

/**
 * The embedded store on SQLite (better-sqlite3). WAL lets readers run beside the one
 * writer; every read-modify-write runs in a `BEGIN IMMEDIATE` transaction, so several
 * processes sharing the file still settle races in the database.
 */
export class SqliteStore implements SessionStore {
  // Private, so the published types never name the driver's: a consumer need not install
  // @types/better-sqlite3 to type-check against this package.
  readonly #db: Database.Database;
  readonly #s;
  readonly #rotate;
  readonly #claimSecret;
  readonly #revokeOne;
  readonly #revokeUser;
  readonly #bumpVersion;
  readonly #readRevocations;
  readonly #promoteKey;
  readonly #watchers = new Set<() => void>();

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
    const db = new Database(options.path);
    this.#db = db;
    db.pragma("journal_mode = WAL");
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeout ?? 5000)}`);
    // NORMAL is durable across application crashes in WAL mode; only power loss may drop the last commits.
    db.pragma("synchronous = NORMAL");
    migrate(db);

    const sessionColumns = Object.keys(sessionParams({} as SessionRecord));
    this.#s = guardStatements(db, {
      insertUser:
        db.prepare(`INSERT INTO users (id, username, password_hash, disabled, claims, created_at, updated_at)
        VALUES (:id, :username, :password_hash, :disabled, :claims, :created_at, :created_at)
        ON CONFLICT DO NOTHING RETURNING ${USER_COLUMNS}`),
      userById: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`),
      userByName: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`),
      listUsers: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE username > ? ORDER BY username LIMIT ?`),
      updateUser: db.prepare(`UPDATE users SET
          password_hash = CASE WHEN :set_password THEN :password_hash ELSE password_hash END,
          disabled = CASE WHEN :set_disabled THEN :disabled ELSE disabled END,
          reauth_required_at = CASE WHEN :set_reauth THEN :reauth_required_at ELSE reauth_required_at END,
          claims = CASE WHEN :set_claims THEN :claims ELSE claims END,
          updated_at = :now
        WHERE id = :id RETURNING ${USER_COLUMNS}`),
      bumpVersion: db.prepare(`UPDATE users SET token_version = token_version + 1,
        updated_at = :now WHERE id = :id RETURNING ${USER_COLUMNS}`),
      insertSession: db.prepare(
        `INSERT INTO sessions (${sessionColumns.join(", ")}) VALUES (${sessionColumns.map((c) => `:${c}`).join(", ")})`,
      ),
      sessionById: db.prepare("SELECT * FROM sessions WHERE id = ?"),
      listSessions: db.prepare(
        `SELECT * FROM sessions WHERE user_id = :user_id AND ${LIVE} ORDER BY created_at DESC, rowid DESC`,
      ),
      rename: db.prepare(
        "UPDATE sessions SET device_name = :name WHERE id = :id AND revoked_at IS NULL RETURNING *",
      ),
      applyRotation:
        db.prepare(`UPDATE sessions SET previous_hash = :previous_hash, current_hash = :current_hash,
        generation = :generation, rotated_at = :rotated_at, last_active_at = :last_active_at,
        idle_expires_at = :idle_expires_at WHERE id = :id`),
      touch: db.prepare(`UPDATE sessions SET last_active_at = :now,
          idle_expires_at = CASE WHEN absolute_expires_at IS NULL THEN :idle ELSE MIN(:idle, absolute_expires_at) END
        WHERE id = :id AND ${LIVE} RETURNING *`),
      revokeOne: db.prepare(`UPDATE sessions SET revoked_at = :now, revoked_reason = :reason
        WHERE id = :id AND revoked_at IS NULL RETURNING *`),
      revokeUser: db.prepare(`UPDATE sessions SET revoked_at = :now, revoked_reason = :reason
        WHERE user_id = :user_id AND revoked_at IS NULL AND id IS NOT :except_id RETURNING *`),
      appendChange: db.prepare(`INSERT INTO revocation_changes (kind, user_id, session_id, version, at)
        VALUES (:kind, :user_id, :session_id, :version, :at)`),
      readChanges: db.prepare(`SELECT * FROM revocation_changes
        WHERE seq > :after AND (:since IS NULL OR at >= :since) ORDER BY seq LIMIT :limit`),
      lastChange: db.prepare("SELECT max(seq) AS seq FROM revocation_changes"),
      // INDEXED BY: left alone, SQLite walks the sequence from the oldest row to find the minimum.
      firstChangeSince: db.prepare(
        "SELECT min(seq) AS seq FROM revocation_changes INDEXED BY revocation_changes_at WHERE at >= ?",
      ),
      insertEvent: db.prepare(`INSERT INTO events (id, type, user_id, session_id, at, detail)
        VALUES (:id, :type, :user_id, :session_id, :at, :detail)`),
      listEvents: db.prepare(`SELECT * FROM events
        WHERE (:user_id IS NULL OR user_id = :user_id) AND (:session_id IS NULL OR session_id = :session_id)
        ORDER BY seq DESC LIMIT :limit`),
      insertKey: db.prepare(`INSERT INTO signing_keys
          (kid, alg, private_key, public_jwk, created_at, activated_at, retired_at)
        VALUES (:kid, :alg, :private_key, :public_jwk, :created_at, :activated_at, :retired_at)
        ON CONFLICT DO NOTHING`),
      listKeys: db.prepare("SELECT * FROM signing_keys ORDER BY created_at, kid"),
      isNextKey: db.prepare(
        "SELECT 1 FROM signing_keys WHERE kid = ? AND activated_at IS NULL AND retired_at IS NULL",
      ),
      activeKeys: db.prepare(
        "SELECT kid FROM signing_keys WHERE activated_at IS NOT NULL AND retired_at IS NULL",
      ),
      retireActive: db.prepare(
        "UPDATE signing_keys SET retired_at = ? WHERE activated_at IS NOT NULL AND retired_at IS NULL",
      ),
      activateKey: db.prepare("UPDATE signing_keys SET activated_at = ? WHERE kid = ?"),
      deleteKey: db.prepare("DELETE FROM signing_keys WHERE kid = ?"),
      insertSecret: db.prepare("INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING"),
      secret: db.prepare("SELECT value FROM secrets WHERE name = ?"),
      purgeSessions: db.prepare(`DELETE FROM sessions WHERE revoked_at < :before OR idle_expires_at <= :before
        OR absolute_expires_at <= :before`),
      purgeEvents: db.prepare("DELETE FROM events WHERE at < ?"),
      purgeChanges: db.prepare("DELETE FROM revocation_changes WHERE at < ?"),
      // A committed write, so readiness fails when writes do (the store contract, `ping`).
      heartbeat: db.prepare(
        "INSERT INTO heartbeat (id, beats) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET beats = beats + 1",
      ),
    });

    const s = this.#s;
    const appendRevoked = (sessions: readonly SessionRecord[], at: number) => {
      for (const session of sessions) {
        s.appendChange.run({
          kind: "revoked",
          user_id: session.userId,
          session_id: session.id,
          version: null,
          at,
        });
      }
    };
    this.#rotate = db.transaction((request: RotateRequest): RotateOutcome => {
      const row = s.sessionById.get(request.sessionId) as Row | undefined;
      const session = row ? toSession(row) : null;
      const plan = planRotation(session, request);
      if (!session || plan.status === "unknown") return { status: "unknown" };
      if (plan.changes) {
        Object.assign(session, plan.changes);
        if (plan.status === "reused") {
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
      return { status: plan.status, session };
    });
    this.#claimSecret = db.transaction((name: string, candidate: string): string => {
      s.insertSecret.run(name, candidate);
      return (s.secret.get(name) as { value: string }).value;
    });
    // Each revoking write and its changelog entry commit together, or neither does.
    this.#revokeOne = db.transaction((params: Row): SessionRecord | null => {
      const row = s.revokeOne.get(params) as Row | undefined;
      if (!row) return null;
      const session = toSession(row);
      appendRevoked([session], params.now as number);
      return session;
    });
    this.#revokeUser = db.transaction((params: Row): SessionRecord[] => {
      const sessions = (s.revokeUser.all(params) as Row[]).map(toSession);
      appendRevoked(sessions, params.now as number);
      return sessions;
    });
    this.#bumpVersion = db.transaction((id: string, now: number): UserRecord | null => {
      const row = s.bumpVersion.get({ id, now }) as Row | undefined;
      if (!row) return null;
      const user = toUser(row);
      s.appendChange.run({
        kind: "version",
        user_id: id,
        session_id: null,
        version: user.tokenVersion,
        at: now,
      });
      return user;
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
      const changes = rows.map(toChange);
      const last = changes.at(-1);
      if (last && changes.length >= limit) return { changes, cursor: last.cursor };
      const head = (s.lastChange.get() as { seq: number | null }).seq ?? 0;
      return { changes, cursor: String(Math.max(after, head)) };
    });
    this.#promoteKey = db.transaction((promotion: KeyPromotion): boolean => {
      if (!s.isNextKey.get(promotion.next)) return false;
      const active = (s.activeKeys.all() as { kid: string }[]).map((r) => r.kid);
      const seen = promotion.active;
      if (seen === null ? active.length > 0 : !active.includes(seen)) return false;
      s.retireActive.run(promotion.now);
      s.activateKey.run(promotion.now, promotion.next);
      return true;
    });
  }

  /** Wakes this process's watchers after one of its own revoking writes has committed. */
  #changed(): void {
    if (this.#watchers.size === 0) return;
    queueMicrotask(() => {
      for (const wake of this.#watchers) wake();
    });
  }

  async createUser(user: NewUser): Promise<UserRecord | null> {
    const row = this.#s.insertUser.get({
      id: user.id,
      username: user.username,
      password_hash: user.passwordHash,
      disabled: user.disabled ? 1 : 0,
      claims: JSON.stringify(user.claims),
      created_at: user.createdAt,
    }) as Row | undefined;
    return row ? toUser(row) : null;
  }

  async findUser(id: string): Promise<UserRecord | null> {
    const row = this.#s.userById.get(id) as Row | undefined;
    return row ? toUser(row) : null;
  }

  async findUserByName(username: string): Promise<UserRecord | null> {
    const row = this.#s.userByName.get(username) as Row | undefined;
    return row ? toUser(row) : null;
  }

  async listUsers(options: { limit: number; after?: string }): Promise<UserRecord[]> {
    return (this.#s.listUsers.all(options.after ?? "", options.limit) as Row[]).map(toUser);
  }

  async updateUser(id: string, patch: UserPatch, now: number): Promise<UserRecord | null> {
    const row = this.#s.updateUser.get({
      id,
      now,
      set_password: patch.passwordHash === undefined ? 0 : 1,
      password_hash: patch.passwordHash ?? null,
      set_disabled: patch.disabled === undefined ? 0 : 1,
      disabled: patch.disabled ? 1 : 0,
      set_reauth: patch.reauthRequiredAt === undefined ? 0 : 1,
      reauth_required_at: patch.reauthRequiredAt ?? null,
      set_claims: patch.claims === undefined ? 0 : 1,
      claims: JSON.stringify(patch.claims ?? {}),
    }) as Row | undefined;
    return row ? toUser(row) : null;
  }

  async bumpTokenVersion(id: string, now: number): Promise<UserRecord | null> {
    const user = guard(this.#db, () => this.#bumpVersion.immediate(id, now));
    if (user) this.#changed();
    return user;
  }

  async createSession(session: SessionRecord): Promise<void> {
    this.#s.insertSession.run(sessionParams(session));
  }

  async findSession(id: string): Promise<SessionRecord | null> {
    const row = this.#s.sessionById.get(id) as Row | undefined;
    return row ? toSession(row) : null;
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    return (this.#s.listSessions.all({ user_id: userId, now }) as Row[]).map(toSession);
  }

  async renameSession(id: string, deviceName: string): Promise<SessionRecord | null> {
    const row = this.#s.rename.get({ id, name: deviceName }) as Row | undefined;
    return row ? toSession(row) : null;
  }

  async rotate(request: RotateRequest): Promise<RotateOutcome> {
    // BEGIN IMMEDIATE itself may find the database locked: guarded like the statements.
    const outcome = guard(this.#db, () => this.#rotate.immediate(request));
    if (outcome.status === "reused") this.#changed();
    return outcome;
  }

  async touchSession(id: string, now: number, idleTimeoutMs: number): Promise<SessionRecord | null> {
    const row = this.#s.touch.get({ id, now, idle: now + idleTimeoutMs }) as Row | undefined;
    return row ? toSession(row) : null;
  }

  async revokeSession(id: string, reason: RevokeReason, now: number): Promise<SessionRecord | null> {
    const session = guard(this.#db, () => this.#revokeOne.immediate({ id, reason, now }));
    if (session) this.#changed();
    return session;
  }

  async revokeUserSessions(
    userId: string,
    options: { exceptId?: string; reason: RevokeReason; now: number },
  ): Promise<SessionRecord[]> {
    const sessions = guard(this.#db, () =>
      this.#revokeUser.immediate({
        user_id: userId,
        except_id: options.exceptId ?? null,
        reason: options.reason,
        now: options.now,
      }),
    );
    if (sessions.length > 0) this.#changed();
    return sessions;
  }

  async readRevocations(request: RevocationRead): Promise<RevocationPage> {
    const after = request.after === null ? 0 : parseCursor(request.after);
    return guard(this.#db, () => this.#readRevocations(after, request.since ?? null, request.limit));
  }

  /**
   * Wakes on this process's own writes only; other processes' changes are found by
   * polling `readRevocations`, which SQLite answers from an index in microseconds.
   */
  watchRevocations(wake: () => void): () => void {
    this.#watchers.add(wake);
    return () => this.#watchers.delete(wake);
  }

  async recordEvent(event: SecurityEvent): Promise<void> {
    this.#s.insertEvent.run({
      id: event.id,
      type: event.type,
      user_id: event.userId,
      session_id: event.sessionId,
      at: event.at,
      detail: JSON.stringify(event.detail),
    });
  }

  async listEvents(filter: { userId?: string; sessionId?: string; limit: number }): Promise<SecurityEvent[]> {
    const rows = this.#s.listEvents.all({
      user_id: filter.userId ?? null,
      session_id: filter.sessionId ?? null,
      limit: filter.limit,
    }) as Row[];
    return rows.map(toEvent);
  }

  async putKey(key: StoredKey): Promise<boolean> {
    const result = this.#s.insertKey.run({
      kid: key.kid,
      alg: key.alg,
      private_key: key.privateKey,
      public_jwk: key.publicJwk,
      created_at: key.createdAt,
      activated_at: key.activatedAt,
      retired_at: key.retiredAt,
    });
    return result.changes === 1;
  }

  async listKeys(): Promise<StoredKey[]> {
    return (this.#s.listKeys.all() as Row[]).map(toKey);
  }

  async promoteKey(promotion: KeyPromotion): Promise<boolean> {
    return guard(this.#db, () => this.#promoteKey.immediate(promotion));
  }

  async deleteKey(kid: string): Promise<boolean> {
    return this.#s.deleteKey.run(kid).changes === 1;
  }

  async claimSecret(name: string, candidate: string): Promise<string> {
    return guard(this.#db, () => this.#claimSecret.immediate(name, candidate));
  }

  async purge(before: number): Promise<number> {
    const deleted = this.#s.purgeSessions.run({ before }).changes;
    this.#s.purgeEvents.run(before);
    this.#s.purgeChanges.run(before);
    return deleted;
  }

  async ping(): Promise<void> {
    this.#s.heartbeat.run();
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

/** Opens (creating on first use) the SQLite store at `options.path`. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}
