import { ProlongError } from "../errors.js";
import { type Standing, standing, subjectStanding } from "../session-rules.js";
import type { SessionRecord, SubjectRecord } from "../store/index.js";
import type { EngineContext } from "./context.js";
import { endSession } from "./revoke.js";

/** The error a session that is not in good standing is answered with (session-rules.ts). */
export function standingError(failure: Exclude<Standing, "good" | "superseded">): ProlongError {
  switch (failure) {
    case "user_disabled":
      return new ProlongError("user_disabled", "this user is disabled");
    case "session_revoked":
      return new ProlongError("session_revoked", "session was revoked");
    case "session_expired":
      return new ProlongError("session_expired", "session has expired");
    case "reauth_required":
      return new ProlongError("reauth_required", "sign in again to continue");
  }
}

/**
 * Lets a session go on, or throws the error its standing names (session-rules.ts): the
 * one gate of refresh, exchange and the bearer routes. `current` is the standing the
 * caller computed: `standing(session, subject, now)`, or `accessTokenStanding` for a
 * session reached through an access token.
 */
export async function admit(ctx: EngineContext, session: SessionRecord, current: Standing): Promise<void> {
  if (current === "good") return;
  if (current === "superseded") {
    // Created while "log out everywhere" ran, it slipped past the bulk revocation: end it now.
    await endSession(ctx, session.id, "logout_everywhere");
    throw standingError("session_revoked");
  }
  throw standingError(current);
}

/** {@link admit} for a session on its own, as a refresh finds it. */
export function admitSession(
  ctx: EngineContext,
  session: SessionRecord,
  subject: SubjectRecord,
  now: number,
): Promise<void> {
  return admit(ctx, session, standing(session, subject, now));
}

/** A subject may start a session: the subject rule of `standing`, before any session exists. */
export function admitSubject(subject: SubjectRecord): void {
  if (subjectStanding(subject) !== "good") throw standingError("user_disabled");
}
