import { constantTimeEqual } from "./bytes.js";
import type { RotateRequest, SessionRecord } from "./store.js";

/** Expired at `now`: the idle deadline or the absolute one has been reached. */
export function isSessionExpired(session: SessionRecord, now: number): boolean {
  return (
    now >= session.idleExpiresAt || (session.absoluteExpiresAt !== null && now >= session.absoluteExpiresAt)
  );
}

/** Neither revoked nor expired at `now`. */
export function isSessionLive(session: SessionRecord, now: number): boolean {
  return session.revokedAt === null && !isSessionExpired(session, now);
}

/** The idle deadline after activity at `now`: sliding, but never past the absolute limit (P2, P3). */
export function slideIdleDeadline(session: SessionRecord, now: number, idleTimeoutMs: number): number {
  const idle = now + idleTimeoutMs;
  return session.absoluteExpiresAt === null ? idle : Math.min(idle, session.absoluteExpiresAt);
}

/** What `rotate` must do to a session, and what it answers. */
export type RotationPlan =
  | { status: "rotated"; changes: Partial<SessionRecord> }
  | { status: "reused"; changes: Partial<SessionRecord> }
  | { status: "replayed" | "revoked" | "expired" | "unknown"; changes: null };

/**
 * The decision of `SessionStore.rotate` as a pure function, for stores that read the
 * row and write it back inside one transaction (memory, SQLite). Stores that settle
 * it in one statement or script (PostgreSQL, Redis) encode the same order there; the
 * conformance suite holds them all to it.
 */
export function planRotation(session: SessionRecord | null, request: RotateRequest): RotationPlan {
  const { now } = request;
  if (!session) return { status: "unknown", changes: null };
  if (session.revokedAt !== null) return { status: "revoked", changes: null };
  if (isSessionExpired(session, now)) return { status: "expired", changes: null };
  if (
    request.generation === session.generation &&
    constantTimeEqual(request.presentedHash, session.currentHash)
  ) {
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
  // the successor itself is used it stops being "previous", so the window closes early.
  if (
    request.generation === session.generation - 1 &&
    session.previousHash !== null &&
    session.rotatedAt !== null &&
    now - session.rotatedAt <= request.graceMs &&
    constantTimeEqual(request.presentedHash, session.previousHash)
  ) {
    return { status: "replayed", changes: null };
  }
  // P4: the engine authenticated the token, so an older generation is a real token replayed.
  if (request.generation < session.generation) {
    return { status: "reused", changes: { revokedAt: now, revokedReason: "reuse" } };
  }
  return { status: "unknown", changes: null };
}
