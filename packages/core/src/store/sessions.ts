/**
 * Sessions, the standing of their subjects, and the revocation changelog: the concern
 * every refresh touches (store/index.ts states the rules all operations follow).
 */

/**
 * A subject is the application's user as prolong knows it: its id is the `sub` claim.
 * It holds only what decides whether its sessions may go on (P8, P9). It is created on
 * first use, with defaults, by {@link SessionStore.ensureSubject}.
 */
export interface SubjectRecord {
  id: string;
  /** A disabled subject can neither sign in nor refresh (P8). */
  disabled: boolean;
  /** Bumped by "log out everywhere"; sessions created under an older version are dead (P8). */
  tokenVersion: number;
  /** Sessions signed in at or before this instant may not refresh (the re-auth flag, P8). */
  reauthRequiredAt: number | null;
  /** Application claims (roles, …) copied into access tokens on every refresh (P9). */
  claims: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export type SubjectPatch = Partial<Pick<SubjectRecord, "disabled" | "reauthRequiredAt" | "claims">>;

export interface SessionRecord {
  id: string;
  subjectId: string;
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
  /** The subject's token version when the session was created. */
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
  revokedReason: RevokeReason | null;
  /**
   * The RFC 7638 JWK thumbprint of the DPoP key (RFC 9449) the session's refresh tokens
   * are bound to, or `null` for an unbound session. Set by `createSession`, never changed:
   * a refresh must come with a proof made by that key (see {@link RotateOutcome}).
   */
  dpopJkt: string | null;
  /**
   * The public key a browser registered for Device Bound Session Credentials (the JWK, as
   * JSON text), or `null` while none is. Set once, by {@link SessionStore.registerDeviceKey}.
   */
  deviceKey: string | null;
  /**
   * The authentication context class the host vouched for when the session started or was
   * last stepped up (RFC 9068 §2.2.1, the `acr` claim), or `null` when it named none.
   */
  acr: string | null;
  /**
   * The authentication methods behind that context (RFC 8176 values such as `pwd`,
   * `otp`, `hwk`; the `amr` claim), or `null` when the host named none.
   */
  amr: string[] | null;
  /**
   * The subject id of the administrator acting as this session's subject (impersonation,
   * the `act` claim of RFC 8693 §4.1), or `null` for the subject's own session. Set by
   * `createSession`, never changed. Such a session neither counts towards a
   * {@link SessionLimit} nor is evicted by one.
   */
  actor: string | null;
}

/**
 * How many live sessions a subject may hold, checked by `createSession` in the same
 * transaction (or script) that stores the new one, so racing sign-ins in different
 * processes never leave more than `max`. The sessions that count are the subject's own
 * (`actor` is `null`), neither revoked nor expired at the new session's `createdAt`,
 * whose `clientId` is in `clientIds`.
 */
export interface SessionLimit {
  /** At least 1. */
  max: number;
  clientIds: string[];
  /**
   * At the limit, `evict` revokes the least recently active sessions that count (smallest
   * `lastActiveAt`, ties by smaller id) with reason `evicted`, appending each to the
   * changelog, until the new one fits; `refuse` writes nothing.
   */
  onLimit: "evict" | "refuse";
}

/**
 * What `createSession` did: stored the session, after revoking the sessions named in
 * `evicted` (oldest activity first; empty without a limit or below it), or refused it
 * (nothing written) because `live` sessions that count already stand at the limit.
 */
export type CreateSessionOutcome =
  | { status: "created"; evicted: string[] }
  | { status: "refused"; live: number };

/**
 * A stronger authentication of a session's subject (step-up, RFC 9470): the instant it
 * happened and what it established. An `acr` or `amr` left out stays as it is; `null`
 * clears it.
 */
export interface StepUp {
  authTime: number;
  acr?: string | null;
  amr?: string[] | null;
}

/** Why a session ended; recorded with it. */
export type RevokeReason =
  | "logout"
  | "revoked"
  | "reuse"
  | "password_change"
  | "logout_everywhere"
  | "user_disabled"
  | "admin"
  /** A refresh token bound to a DPoP key came without a proof of that key (RFC 9449 §5). */
  | "key_mismatch"
  /** A newer sign-in of the subject pushed it out of its {@link SessionLimit}. */
  | "evicted";

export interface RotateRequest {
  sessionId: string;
  /**
   * The client presenting the token (RFC 6749 §6: a refresh token is bound to the client
   * it was issued to). A session of another client answers `unknown` and is not touched.
   */
  clientId: string;
  /** Generation carried by the presented token, already authenticated by the engine. */
  generation: number;
  presentedHash: string;
  /** Hash of the successor the engine derived from the presented token. */
  successorHash: string;
  now: number;
  /** The grace window and idle timeout of `clientId`'s profile. */
  graceMs: number;
  idleTimeoutMs: number;
  /**
   * The session's grant budget, checked and spent by this same call (see
   * {@link RotateOutcome}); absent or `null`, nothing is checked or counted.
   */
  budget?: GrantBudget | null;
  /**
   * The thumbprint of the DPoP proof's key, verified by the caller, that came with the
   * refresh; absent or `null` when no proof came. Must equal the session's `dpopJkt`
   * when it has one (RFC 9449 §5: the refresh token is bound to that key).
   */
  proofJkt?: string | null;
  /**
   * Whether the request carried a valid DBSC bound cookie for this session (checked by
   * the caller). Must be `true` for a session with a `deviceKey`.
   */
  deviceBound?: boolean;
}

/**
 * At most `max` grants (rotations, stragglers' answers, exchanges, failed presentations)
 * per session in a fixed window of `windowMs`, started by the first grant counted when
 * none runs (RateLimitStore's windows, kept with the session instead). Kept by the
 * session store so that the check, the count and the rotation are one atomic operation:
 * one round trip per refresh, and racing refreshes counted exactly.
 */
export interface GrantBudget {
  max: number;
  windowMs: number;
}

/** A session over its {@link GrantBudget}: nothing was done, and the budget refills at `resetAt`. */
export interface GrantRefusal {
  status: "limited";
  resetAt: number;
}

/**
 * What `rotate` did, with the session as it is afterwards and its subject, so a refresh
 * needs no other read. Checked in this order against the session as it is at `now`
 * (`planRotation` in session-rules.ts is the reference): missing (or its subject is),
 * or of another client → `unknown`; revoked → `revoked`; `now >= idleExpiresAt` or
 * `now >= absoluteExpiresAt` → `expired`; the session is bound to a DPoP key
 * (`dpopJkt`) and `proofJkt` is not that key's → the store revokes the session with
 * reason `key_mismatch` and appends the revocation to the changelog in the same
 * transaction → `mismatched` (a bound token shown without its key was stolen: its
 * holder never lacks the key, RFC 9449 §5); the session has a `deviceKey` and
 * `deviceBound` is not `true` → `unbound`, nothing written (a browser whose DBSC refresh
 * failed must not be signed out by it); presented is current → `rotated`; presented
 * is the previous token and `now - rotatedAt <= graceMs` → `replayed` (nothing written:
 * the successor is the current token); presented is two generations behind
 * (`generation === session.generation - 2`, whatever its hash: the store keeps no hash of
 * it, and the engine checks it) and `now - rotatedAt <= graceMs` → `overtaken` (a
 * straggler, docs/protocol.md: nothing written); presented is any older generation → the
 * store revokes the session with reason `reuse` and appends the revocation to the
 * changelog in the same transaction → `reused`; anything else (a later generation, a hash
 * that matches nothing) → `unknown`.
 *
 * With a {@link GrantBudget}, and only for a session that exists (of any client), in the
 * same transaction: first, when the session's window running at `now` already counts
 * `max` grants → `limited`, with the instant the window ends, and nothing written at all
 * (no rotation, no count); otherwise the checks above decide, and every outcome but
 * `replayed` counts one grant in the window (starting one of `windowMs` at `now` when
 * none runs). Replays inside the grace window are free (twenty tabs waking at once); a
 * straggler's answer is counted, as it mints an access token; a failed presentation of a
 * genuine token (revoked, expired, mismatched, unbound, reused, another client, no match)
 * spends it too.
 * `planGrant` in session-rules.ts is the reference.
 */
export type RotateOutcome =
  | {
      status: "rotated" | "replayed" | "overtaken" | "reused" | "revoked" | "expired" | "mismatched";
      session: SessionRecord;
      subject: SubjectRecord;
    }
  | GrantRefusal
  | { status: "unknown" }
  | { status: "unbound" };

/**
 * One entry of the revocation changelog, the source of truth of the revocation feed
 * (docs/protocol.md, "Revocation feed"): a session revoked, or a subject's token version
 * bumped. `cursor` is opaque to everyone but the store that issued it (an integer
 * sequence in SQL, a stream id in Redis).
 */
export type RevocationChange =
  | { cursor: string; kind: "revoked"; sessionId: string; subjectId: string; at: number }
  | { cursor: string; kind: "version"; subjectId: string; version: number; at: number };

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

/** What `listSessions` narrows its answer to; every member is optional. */
export interface SessionListOptions {
  /** Also the revoked and expired sessions not purged yet. Default: live ones only. */
  ended?: boolean;
  /** Only sessions of this client. */
  clientId?: string;
  /**
   * Only sessions that come after this one in the listing's order (keyset paging): created
   * earlier, or at the same millisecond with a smaller id. Ids compare as strings of
   * code units (they are ASCII: the engine makes base64url ones).
   */
  after?: { createdAt: number; id: string };
  /** At most this many. Default: no limit. */
  limit?: number;
}

/**
 * A one-time handoff of a web session to a browser (docs/protocol.md, "Handoff grant"):
 * a backend asked for a session, the browser redeems the code at the token endpoint and
 * gets the refresh cookie there. The session starts only then, so nothing but the hash of
 * the code is stored, and no refresh token exists before the browser holds it.
 */
export interface HandoffRecord {
  /** SHA-256 of the code, base64url; the code itself is never stored. */
  hash: string;
  subjectId: string;
  /** The only client that may redeem it. */
  clientId: string;
  deviceName: string | null;
  /** The subject's token version when the code was made; "log out everywhere" since voids it. */
  tokenVersion: number;
  /**
   * How the backend authenticated the user (RFC 9068 §2.2.1 `acr`), or `null` when it named
   * none: the session started at redemption carries it, as {@link SessionRecord.acr}.
   */
  acr: string | null;
  /**
   * The methods behind it (RFC 8176 `amr`), or `null` when none were named; an empty list
   * stays an empty list, as in {@link SessionRecord.amr}.
   */
  amr: string[] | null;
  createdAt: number;
  /** Redeemable while `now < expiresAt`. */
  expiresAt: number;
}

export interface SessionStore {
  // Subjects

  /** The subject `id`, created first (enabled, version 0, no claims) if it does not exist. */
  ensureSubject(id: string, now: number): Promise<SubjectRecord>;
  findSubject(id: string): Promise<SubjectRecord | null>;
  /** Changes a subject that exists; `null` otherwise. */
  updateSubject(id: string, patch: SubjectPatch, now: number): Promise<SubjectRecord | null>;
  /**
   * Atomically increments the subject's token version and appends a `version` change;
   * returns the updated subject, `null` when it does not exist.
   */
  bumpTokenVersion(id: string, now: number): Promise<SubjectRecord | null>;

  // Sessions

  /**
   * Stores a new session; its subject exists (the engine ensured it). With a `limit`,
   * counts, evicts or refuses as {@link SessionLimit} says, atomically with the insert;
   * without one it always answers `created` with nothing evicted.
   */
  createSession(session: SessionRecord, limit?: SessionLimit | null): Promise<CreateSessionOutcome>;
  /** The hot read: a session and its subject, in one round trip; `null` if either is missing. */
  readSession(id: string): Promise<{ session: SessionRecord; subject: SubjectRecord } | null>;
  /**
   * The subject's sessions that are neither revoked nor expired at `now` (with `ended`,
   * every stored one), newest first; sessions created in the same millisecond by id,
   * greatest first, so a page boundary ({@link SessionListOptions.after}) has exactly
   * one place to stand.
   */
  listSessions(subjectId: string, now: number, options?: SessionListOptions): Promise<SessionRecord[]>;
  /** Renames a session that is not revoked; `null` otherwise. */
  renameSession(id: string, deviceName: string): Promise<SessionRecord | null>;
  /**
   * DBSC registration, atomic: a session missing, revoked or expired at `now` →
   * `missing`; one that has a device key keeps it → `taken`; otherwise `key` becomes its
   * `deviceKey` → `registered`. Of racing registrations of one session, one wins.
   */
  registerDeviceKey(sessionId: string, key: string, now: number): Promise<"registered" | "taken" | "missing">;
  /**
   * Records a step-up on a session that is live at `now`: `authTime` becomes the later of
   * the stored one and `step.authTime` (it never goes back), and `acr`/`amr` are set as
   * {@link StepUp} says. Deadlines (`idleExpiresAt`, `absoluteExpiresAt`) never move.
   * Returns the session afterwards, or `null` when it is missing, revoked or expired.
   */
  stepUp(sessionId: string, step: StepUp, now: number): Promise<SessionRecord | null>;
  /** The refresh step, settled atomically; see {@link RotateOutcome}. */
  rotate(request: RotateRequest): Promise<RotateOutcome>;
  /**
   * Records activity on a live session without rotating (the stateless exchange, P10):
   * sets `lastActiveAt = now` and `idleExpiresAt = min(now + idleTimeoutMs, absoluteExpiresAt)`.
   * Returns `null` when the session is missing, revoked or expired at `now`.
   *
   * With a `budget`, the grant budget `rotate` spends (RotateOutcome), in the same atomic
   * step: a session whose window running at `now` already counts `max` grants answers
   * {@link GrantRefusal} and nothing is written; a session touched counts one grant.
   */
  touchSession(
    id: string,
    now: number,
    idleTimeoutMs: number,
    budget?: GrantBudget | null,
  ): Promise<SessionRecord | GrantRefusal | null>;
  /**
   * Revokes one session if it is not revoked yet and appends a `revoked` change;
   * returns the session then, `null` (and appends nothing) otherwise.
   */
  revokeSession(id: string, reason: RevokeReason, now: number): Promise<SessionRecord | null>;
  /**
   * Revokes every unrevoked session of a subject except `exceptId`, appending one
   * `revoked` change per session in the order returned; returns those it revoked.
   */
  revokeSubjectSessions(
    subjectId: string,
    options: { exceptId?: string; reason: RevokeReason; now: number },
  ): Promise<SessionRecord[]>;

  // Handoffs

  /** Stores a new handoff; its hash is new (the engine draws 256 random bits per code). */
  putHandoff(handoff: HandoffRecord): Promise<void>;
  /**
   * Atomically removes the handoff with this hash and returns it when `now < expiresAt`;
   * `null` when there is none or it has expired (removed then too). Of any number of
   * concurrent takes of one hash, at most one gets the record: a code redeems once.
   */
  takeHandoff(hash: string, now: number): Promise<HandoffRecord | null>;

  // Revocation changelog: an outbox. Every revoking operation above appends to it in its
  // own transaction, so a revocation is never committed without its change, and every
  // server tails it, whichever process made the change.

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

  /**
   * Deletes sessions that expired or were revoked before `before`, changelog entries
   * older than it, and handoffs that expired before it. Returns how many sessions it
   * deleted. Cursors stay valid: a change appended later still follows every cursor
   * handed out before.
   */
  purge(before: number): Promise<number>;
}
