import type {
  GrantBudget,
  GrantRefusal,
  RateWindow,
  RotateOutcome,
  RotateRequest,
  SessionLimit,
  SessionRecord,
  StepUp,
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

/**
 * Whether a stored session counts towards `limit` for a new session created at `now`:
 * the subject's own (no `actor`: impersonation never takes a user's place), live at
 * `now`, of one of the limit's clients. The caller has narrowed to the subject.
 */
export function countsTowardsLimit(session: SessionRecord, limit: SessionLimit, now: number): boolean {
  return session.actor === null && limit.clientIds.includes(session.clientId) && isSessionLive(session, now);
}

/** What a {@link SessionLimit} makes of a new session: the ids to evict first, or a refusal. */
export type LimitPlan = { status: "created"; evicted: string[] } | { status: "refused"; live: number };

/**
 * `createSession`'s limit step as a pure function (CreateSessionOutcome in
 * store/sessions.ts): `sessions` are the subject's stored sessions (any, they are
 * filtered here), `now` the new session's `createdAt`. Below the limit nothing is
 * evicted; at it, `refuse` refuses and `evict` names the least recently active sessions
 * that count (smallest `lastActiveAt`, ties by the smaller id) until one more fits.
 */
export function planSessionLimit(
  sessions: Iterable<SessionRecord>,
  limit: SessionLimit,
  now: number,
): LimitPlan {
  assertSessionLimit(limit);
  const counted = [...sessions].filter((s) => countsTowardsLimit(s, limit, now)).sort(leastRecentlyActive);
  if (counted.length < limit.max) return { status: "created", evicted: [] };
  if (limit.onLimit === "refuse") return { status: "refused", live: counted.length };
  return { status: "created", evicted: counted.slice(0, counted.length - limit.max + 1).map((s) => s.id) };
}

/** Eviction order: least recently active first, ties by id in code-unit order. */
export function leastRecentlyActive(
  a: Pick<SessionRecord, "lastActiveAt" | "id">,
  b: Pick<SessionRecord, "lastActiveAt" | "id">,
): number {
  return a.lastActiveAt - b.lastActiveAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Throws a `TypeError` naming the member when `limit` cannot be applied: `max` must be a
 * whole number of at least 1 (a limit of 0 would evict the session it admits), `onLimit`
 * one of the two answers, `clientIds` a list of strings. Stores call it before writing.
 */
export function assertSessionLimit(limit: SessionLimit): void {
  if (!Number.isSafeInteger(limit.max) || limit.max < 1) {
    throw new TypeError(`SessionLimit.max must be a whole number of at least 1, got ${String(limit.max)}`);
  }
  if (limit.onLimit !== "evict" && limit.onLimit !== "refuse") {
    throw new TypeError(`SessionLimit.onLimit must be "evict" or "refuse", got ${String(limit.onLimit)}`);
  }
  if (!Array.isArray(limit.clientIds) || !limit.clientIds.every((id) => typeof id === "string")) {
    throw new TypeError("SessionLimit.clientIds must be a list of client ids");
  }
}

/**
 * The fields a step-up (`stepUp` in store/sessions.ts) changes on a live session:
 * `authTime` never goes back, an `acr` or `amr` left out stays, `null` clears it. The
 * deadlines are not among them: a stronger sign-in extends nothing.
 */
export function planStepUp(
  session: Pick<SessionRecord, "authTime" | "acr" | "amr">,
  step: StepUp,
): Pick<SessionRecord, "authTime" | "acr" | "amr"> {
  return {
    authTime: Math.max(session.authTime, step.authTime),
    acr: step.acr === undefined ? session.acr : step.acr,
    amr: step.amr === undefined ? session.amr : step.amr === null ? null : [...step.amr],
  };
}
