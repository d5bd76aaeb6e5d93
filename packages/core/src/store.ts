/**
 * The storage contract of prolong. Every backend (memory, SQLite, PostgreSQL, Redis)
 * implements this interface and passes `@prolong/store-conformance`.
 *
 * Operations are domain-shaped and atomic: each one must be a single statement,
 * transaction or script in its backend, so races between server instances are settled
 * inside the store and never in the engine. Times are milliseconds since the epoch and
 * always passed in by the caller (stores never read a clock). Expected misses return
 * `null` or an outcome value, never throw. When the backend itself cannot serve (locked,
 * out of space, read-only, unreachable), an operation rejects with a `ProlongError` of
 * code `store_unavailable`, so callers answer "try again later" and never treat it as a
 * bad credential.
 */

export interface UserRecord {
  id: string;
  /** Unique, compared exactly (the engine normalises case before calling). */
  username: string;
  /** Encoded password hash (see `passwords.ts`); `null` for users who sign in elsewhere. */
  passwordHash: string | null;
  disabled: boolean;
  /** Bumped by "log out everywhere"; sessions created under an older version are dead (P8). */
  tokenVersion: number;
  /** Sessions signed in at or before this instant may not refresh (re-auth flag, P8). */
  reauthRequiredAt: number | null;
  /** Application claims (roles, …) copied into access tokens on every refresh (P9). */
  claims: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export type NewUser = Omit<UserRecord, "tokenVersion" | "reauthRequiredAt" | "updatedAt">;

export type UserPatch = Partial<
  Pick<UserRecord, "passwordHash" | "disabled" | "reauthRequiredAt" | "claims">
>;

export interface SessionRecord {
  id: string;
  userId: string;
  clientId: string;
  deviceName: string | null;
  userAgent: string | null;
  ip: string | null;
  createdAt: number;
  /** Original sign-in; carried across refreshes as `auth_time`. */
  authTime: number;
  lastActiveAt: number;
  /** Sliding: moved to `min(now + idleTimeout, absoluteExpiresAt)` by each refresh. */
  idleExpiresAt: number;
  /** `authTime + absoluteLifetime`, or `null` when the profile has no absolute limit. */
  absoluteExpiresAt: number | null;
  /** The user's token version when the session was created. */
  tokenVersion: number;
  /** Generation of the current refresh token; 0 at sign-in, +1 per rotation. */
  generation: number;
  /** Hash of the current refresh token. Plaintext tokens are never stored. */
  currentHash: string;
  /** Hash of the token that `currentHash` replaced, kept for the grace window. */
  previousHash: string | null;
  /** When the last rotation happened. */
  rotatedAt: number | null;
  revokedAt: number | null;
  revokedReason: string | null;
}

/** Why a session ended; recorded with it and published on the revocation feed. */
export type RevokeReason =
  | "logout"
  | "revoked"
  | "reuse"
  | "password_change"
  | "logout_everywhere"
  | "user_disabled"
  | "admin";

export interface RotateRequest {
  sessionId: string;
  /** Generation carried by the presented token, already authenticated by the engine. */
  generation: number;
  presentedHash: string;
  /** Hash of the successor the engine derived from the presented token. */
  successorHash: string;
  now: number;
  graceMs: number;
  idleTimeoutMs: number;
}

/**
 * What `rotate` did. Checked in this order against the session as it is at `now`:
 * missing → `unknown`; revoked → `revoked`; `now >= idleExpiresAt` or
 * `now >= absoluteExpiresAt` → `expired`; presented is current → `rotated`;
 * presented is the previous token, `now - rotatedAt <= graceMs` → `replayed`
 * (nothing written: the successor is the current token); presented is any older
 * generation → the store revokes the session with reason `reuse`, appending the
 * revocation to the changelog in the same transaction → `reused`;
 * anything else (a later generation, a hash that matches nothing) → `unknown`.
 */
export type RotateOutcome =
  | { status: "rotated"; session: SessionRecord }
  | { status: "replayed"; session: SessionRecord }
  | { status: "reused"; session: SessionRecord }
  | { status: "revoked"; session: SessionRecord }
  | { status: "expired"; session: SessionRecord }
  | { status: "unknown" };

export interface SecurityEvent {
  id: string;
  type: string;
  userId: string | null;
  sessionId: string | null;
  at: number;
  /** Small, secret-free details (reason, ip, …). */
  detail: Record<string, unknown>;
}

/**
 * A signing or verification key as stored. A key is *next* (published, never signed),
 * then *active* (signs), then *retired* (verifies until its tokens expire); see
 * docs/protocol.md, "Key publication".
 */
export interface StoredKey {
  kid: string;
  alg: string;
  /** Private key material: a JWK as JSON, or an encrypted envelope of it. */
  privateKey: string;
  /** Public JWK as JSON; `null` for symmetric keys, which are never published. */
  publicJwk: string | null;
  /** When the key was stored, which is when servers start to publish it. */
  createdAt: number;
  /** When the key began to sign; `null` while it is the next key. */
  activatedAt: number | null;
  /** When a newer key took over; `null` while the key is next or active. */
  retiredAt: number | null;
}

/** Asks `promoteKey` to make `next` the signing key in place of `active`. */
export interface KeyPromotion {
  /** The next key to activate. */
  next: string;
  /** The key the caller saw active, `null` when it saw none (first start). */
  active: string | null;
  now: number;
}

/**
 * One entry of the revocation changelog, the source of truth of the revocation feed
 * (docs/protocol.md, "Revocation feed"): a session revoked, or a user's token version
 * bumped. `cursor` is opaque to everyone but the store that issued it (an integer
 * sequence in SQL, a stream id in Redis).
 */
export type RevocationChange =
  | { cursor: string; kind: "revoked"; sessionId: string; userId: string; at: number }
  | { cursor: string; kind: "version"; userId: string; version: number; at: number };

/** A page of the changelog, and where to read on from. */
export interface RevocationPage {
  changes: RevocationChange[];
  /**
   * Pass it as `after` to read the changes that follow. When the page is not full it
   * stands past every change that existed at the read, the skipped ones included.
   */
  cursor: string;
}

export interface RevocationRead {
  /** A cursor this store returned, or `null` to read from the oldest retained change. */
  after: string | null;
  /** Leaves out changes whose `at` is before this instant (the feed's snapshot window). */
  since?: number;
  /** At most this many changes. */
  limit: number;
}

export interface SessionStore {
  // Users

  /** Inserts a user with `tokenVersion` 0; returns `null` if the id or username is taken. */
  createUser(user: NewUser): Promise<UserRecord | null>;
  findUser(id: string): Promise<UserRecord | null>;
  findUserByName(username: string): Promise<UserRecord | null>;
  /** Ordered by username; `after` is the last username of the previous page. */
  listUsers(options: { limit: number; after?: string }): Promise<UserRecord[]>;
  updateUser(id: string, patch: UserPatch, now: number): Promise<UserRecord | null>;
  /**
   * Atomically increments the user's token version and appends a `version` change;
   * returns the updated user.
   */
  bumpTokenVersion(id: string, now: number): Promise<UserRecord | null>;

  // Sessions

  createSession(session: SessionRecord): Promise<void>;
  findSession(id: string): Promise<SessionRecord | null>;
  /** The user's sessions that are neither revoked nor expired at `now`, newest first. */
  listSessions(userId: string, now: number): Promise<SessionRecord[]>;
  /** Renames a session that is not revoked; `null` otherwise. */
  renameSession(id: string, deviceName: string): Promise<SessionRecord | null>;
  /** The refresh step, settled atomically; see {@link RotateOutcome}. */
  rotate(request: RotateRequest): Promise<RotateOutcome>;
  /**
   * Records activity on a live session without rotating (the stateless exchange, P10):
   * sets `lastActiveAt = now` and `idleExpiresAt = min(now + idleTimeoutMs, absoluteExpiresAt)`.
   * Returns `null` when the session is missing, revoked or expired at `now`.
   */
  touchSession(id: string, now: number, idleTimeoutMs: number): Promise<SessionRecord | null>;
  /**
   * Revokes one session if it is not revoked yet and appends a `revoked` change;
   * returns the session then, `null` (and appends nothing) otherwise.
   */
  revokeSession(id: string, reason: RevokeReason, now: number): Promise<SessionRecord | null>;
  /**
   * Revokes every unrevoked session of a user except `exceptId`, appending one `revoked`
   * change per session in the order returned; returns those it revoked.
   */
  revokeUserSessions(
    userId: string,
    options: { exceptId?: string; reason: RevokeReason; now: number },
  ): Promise<SessionRecord[]>;

  // Revocation changelog (an outbox: every revoking operation above appends to it in
  // its own transaction, so a revocation is never committed without its change, and
  // every server tails it, whichever process made the change).

  /**
   * Changes after `after`, in the order they were committed, at most `limit`.
   * Cursor order must be commit order: once a reader has seen a cursor, no change
   * may later appear before it (PostgreSQL must not hand out a sequence number that
   * commits after a higher one has been read, e.g. by serialising appends).
   */
  readRevocations(request: RevocationRead): Promise<RevocationPage>;
  /**
   * Optional: calls `wake` soon after changes may have been appended, so readers need
   * not wait for their next poll (PostgreSQL LISTEN/NOTIFY, Redis XREAD BLOCK, or a
   * store's own writes). A hint only: readers still read from their cursor, so a lost
   * wake-up costs latency, never a change. Returns the function that stops it.
   */
  watchRevocations?(wake: () => void): () => void;

  // Security events

  recordEvent(event: SecurityEvent): Promise<void>;
  /** Newest first. */
  listEvents(filter: { userId?: string; sessionId?: string; limit: number }): Promise<SecurityEvent[]>;

  // Keys and server secrets

  /** Inserts a key; `false` if its kid exists already. */
  putKey(key: StoredKey): Promise<boolean>;
  listKeys(): Promise<StoredKey[]>;
  /**
   * Key rotation in one atomic step: when `next` is a next key and the active key is
   * still `active` (or there is none and `active` is `null`), activates `next` at `now`
   * and retires every active key at `now`. Returns `false`, changing nothing, when
   * another instance rotated first: two rotations racing never leave two active keys.
   */
  promoteKey(promotion: KeyPromotion): Promise<boolean>;
  deleteKey(kid: string): Promise<boolean>;
  /**
   * Returns the secret stored under `name`, storing `candidate` first if there is none.
   * Atomic, so instances starting together agree on one value.
   */
  claimSecret(name: string, candidate: string): Promise<string>;

  // Upkeep

  /**
   * Deletes sessions that expired or were revoked before `before`, and events and
   * changelog entries older than it. Returns how many sessions it deleted. Cursors stay
   * valid: a change appended later still follows every cursor handed out before.
   */
  purge(before: number): Promise<number>;
  /**
   * Readiness: resolves when the store can serve requests, writes included, and rejects
   * (`store_unavailable`) otherwise. It commits a real, cheap write (a heartbeat that no
   * other operation sees), because a store that still reads but cannot write fails every
   * sign-in and refresh.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}
