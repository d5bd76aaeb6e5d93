import type {
  GrantBudget,
  GrantRefusal,
  RateWindow,
  RotateOutcome,
  RotateRequest,
  SessionRecord,
  SubjectRecord,
} from "./store/index.js";

/**
 * When the session ends if nothing else happens: its idle deadline, or its absolute
 * limit when that comes first (P2, P3). The one place this is computed: the refresh
 * cookie's Max-Age, the sessions list's `expires_at` and the expiry rule below use it.
 */
export function sessionEndsAt(session: SessionRecord): number {
  return session.absoluteExpiresAt === null
    ? session.idleExpiresAt
    : Math.min(session.idleExpiresAt, session.absoluteExpiresAt);
}

/** Expired at `now`: the idle deadline or the absolute one has been reached. */
export function isSessionExpired(session: SessionRecord, now: number): boolean {
  return now >= sessionEndsAt(session);
}

/**
 * Whether a session may still refresh at `now`, or why not; its subject's standing aside.
 * What the admin API and `prolong sessions list` show.
 */
export function sessionState(session: SessionRecord, now: number): "live" | "revoked" | "expired" {
  if (session.revokedAt !== null) return "revoked";
  return isSessionExpired(session, now) ? "expired" : "live";
}

/** Neither revoked nor expired at `now`. */
export function isSessionLive(session: SessionRecord, now: number): boolean {
  return session.revokedAt === null && !isSessionExpired(session, now);
}

/**
 * The idle deadline after activity at `now` (or a sign-in then): sliding, but never past
 * the absolute limit (P2, P3).
 */
export function slideIdleDeadline(
  session: Pick<SessionRecord, "absoluteExpiresAt">,
  now: number,
  idleTimeoutMs: number,
): number {
  const idle = now + idleTimeoutMs;
  return session.absoluteExpiresAt === null ? idle : Math.min(idle, session.absoluteExpiresAt);
}

/**
 * `exp` (seconds) of an access token issued at `iat` for `ttl` seconds: never past the
 * session's absolute limit (P3). The idle deadline does not cap it: the next refresh
 * moves that deadline, and a profile may give tokens a longer life than its idle timeout.
 */
export function accessTokenExpiry(session: SessionRecord, iat: number, ttl: number): number {
  const exp = iat + ttl;
  return session.absoluteExpiresAt === null
    ? exp
    : Math.min(exp, Math.floor(session.absoluteExpiresAt / 1000));
}

/**
 * Whether a session may go on at `now` (get tokens, call bearer routes, introspect as
 * active), given its subject. Each failure names the error code it is answered with:
 *
 * - `user_disabled`: the subject is disabled (P8). Checked first, so a disabled user is
 *   told why, although disabling also revoked every session;
 * - `session_revoked`: the session was revoked;
 * - `session_expired`: its idle or absolute deadline has passed (P2, P3);
 * - `superseded`: "log out everywhere" bumped the subject's token version after the
 *   session was created; answered `session_revoked`, and the engine revokes the session
 *   (one created while that bulk revocation ran can slip past it);
 * - `reauth_required`: the subject must sign in again, and this session signed in at or
 *   before that was asked (P8).
 *
 * Pure, so every path (refresh, exchange, bearer routes, introspection of either token)
 * applies the very same rule.
 */
export type Standing =
  | "good"
  | "user_disabled"
  | "session_revoked"
  | "session_expired"
  | "superseded"
  | "reauth_required";

export function standing(session: SessionRecord, subject: SubjectRecord, now: number): Standing {
  if (subjectStanding(subject) !== "good") return "user_disabled";
  if (session.revokedAt !== null) return "session_revoked";
  if (isSessionExpired(session, now)) return "session_expired";
  if (subject.tokenVersion > session.tokenVersion) return "superseded";
  if (subject.reauthRequiredAt !== null && session.authTime <= subject.reauthRequiredAt) {
    return "reauth_required";
  }
  return "good";
}

/** Whether a subject may start or keep sessions at all: the first rule of {@link standing}. */
export function subjectStanding(subject: SubjectRecord): "good" | "user_disabled" {
  return subject.disabled ? "user_disabled" : "good";
}

/**
 * The standing of the session an access token speaks for: the session's own, and
 * `superseded` for a token minted before "log out everywhere" bumped the subject's
 * version (its session is then superseded too; the token's own `ver` is checked as well,
 * so the rule holds for the token whatever the session row says). One rule for the bearer
 * routes, the token exchange and introspection.
 */
export function accessTokenStanding(
  claims: { ver: number },
  session: SessionRecord,
  subject: SubjectRecord,
  now: number,
): Standing {
  const sessionStanding = standing(session, subject, now);
  if (sessionStanding === "good" && claims.ver < subject.tokenVersion) return "superseded";
  return sessionStanding;
}

/** What `rotate` must do to a session, and what it answers. */
export type RotationPlan =
  | { status: "rotated"; changes: Partial<SessionRecord> }
  | { status: "reused" | "mismatched"; changes: Partial<SessionRecord> }
  | {
      status: "replayed" | "overtaken" | "revoked" | "expired" | "unbound" | "unknown";
      changes: null;
    };

/**
 * The decision of `SessionStore.rotate` as a pure function, for stores that read the
 * row and write it back inside one transaction (memory, SQLite). Stores that settle
 * it in one statement or script (PostgreSQL, Redis) encode the same order there; the
 * conformance suite holds them all to it.
 *
 * Hashes are compared with plain equality, here and in every store: the engine hands
 * `rotate` only tokens whose MAC it checked (refresh-token.ts, in constant time), so
 * whoever can time this comparison already holds a genuine token, and learns nothing
 * from it that the token does not tell.
 */
export function planRotation(session: SessionRecord | null, request: RotateRequest): RotationPlan {
  const { now } = request;
  if (!session) return { status: "unknown", changes: null };
  // RFC 6749 §6: a refresh token is bound to the client it was issued to. Another
  // client's presentation says nothing about the session, so it touches nothing.
  if (request.clientId !== session.clientId) return { status: "unknown", changes: null };
  if (session.revokedAt !== null) return { status: "revoked", changes: null };
  if (isSessionExpired(session, now)) return { status: "expired", changes: null };
  // RFC 9449 §5: a refresh token bound to a DPoP key is good only with a proof of that
  // key. Its holder never lacks the key, so the token shown without it was stolen (a
  // proofless copy, or one replayed with the thief's own key): the session ends, as on
  // reuse, whatever generation the token carries.
  if (session.dpopJkt !== null && request.proofJkt !== session.dpopJkt) {
    return { status: "mismatched", changes: { revokedAt: now, revokedReason: "key_mismatch" } };
  }
  // DBSC: a session whose browser registered a device key refreshes only beside a bound
  // cookie that key earned. Its absence may be our failure or the browser's (a DBSC
  // refresh that did not get through), so it is refused and nothing is written: no one
  // is signed out by it.
  if (session.deviceKey !== null && request.deviceBound !== true) {
    return { status: "unbound", changes: null };
  }
  if (request.generation === session.generation && request.presentedHash === session.currentHash) {
    return {
      status: "rotated",
      changes: {
        previousHash: session.currentHash,
        currentHash: request.successorHash,
        generation: session.generation + 1,
        rotatedAt: now,
        lastActiveAt: now,
        idleExpiresAt: slideIdleDeadline(session, now, request.idleTimeoutMs),
      },
    };
  }
  // P5: the previous token inside the grace window gets the current one again. Once
  // the successor itself is used it stops being "previous": it is a straggler below.
  if (
    request.generation === session.generation - 1 &&
    session.previousHash !== null &&
    session.rotatedAt !== null &&
    now - session.rotatedAt <= request.graceMs &&
    request.presentedHash === session.previousHash
  ) {
    return { status: "replayed", changes: null };
  }
  // A straggler (docs/protocol.md, "Rotation: replays and stragglers"): the token before
  // the previous one, inside the grace window of the latest rotation: a request that left
  // with it arrived after its successor was used in turn. It revokes nothing and gets no
  // refresh token (the engine grants an access token only). Its hash is not kept: only the engine,
  // which checked its MAC, can tell it is genuine, and it checks that the token derives
  // the current one.
  if (
    request.generation === session.generation - 2 &&
    session.rotatedAt !== null &&
    now - session.rotatedAt <= request.graceMs
  ) {
    return { status: "overtaken", changes: null };
  }
  // P4: the engine authenticated the token, so an older generation is a real token replayed.
  if (request.generation < session.generation) {
    return { status: "reused", changes: { revokedAt: now, revokedReason: "reuse" } };
  }
  return { status: "unknown", changes: null };
}

/** What the grant budget makes of one call: refused until `resetAt`, or allowed. */
export type GrantPlan = GrantRefusal | { status: "allowed" };

/**
 * The first step of a budgeted `rotate` (RotateOutcome in store/sessions.ts) or
 * `touchSession`, as a pure
 * function: `window` is the session's stored grant window (`null` when it has none). A
 * window whose end has come no longer runs; one that runs and already counts `max`
 * grants refuses, and then nothing else happens (the stored window stays as it is).
 */
export function planGrant(window: RateWindow | null, budget: GrantBudget, now: number): GrantPlan {
  return window !== null && now < window.resetAt && window.count >= budget.max
    ? { status: "limited", resetAt: window.resetAt }
    : { status: "allowed" };
}

/**
 * Whether an outcome of `rotate` spends the session's grant budget: all but a replay
 * inside the grace window, which mints nothing new (docs/protocol.md, "Rotation: replays
 * and stragglers"). A straggler's answer mints an access token, so it counts.
 */
export function spendsGrant(status: RotateOutcome["status"]): boolean {
  return status !== "replayed" && status !== "limited";
}

/**
 * The session's grant window after one more grant at `now`: the running window with one
 * more, or a new window of `windowMs` starting at `now`.
 */
export function countGrant(window: RateWindow | null, budget: GrantBudget, now: number): RateWindow {
  return window !== null && now < window.resetAt
    ? { count: window.count + 1, resetAt: window.resetAt }
    : { count: 1, resetAt: now + budget.windowMs };
}
