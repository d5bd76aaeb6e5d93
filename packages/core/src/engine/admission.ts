import { ProlongError } from "../errors.js";
import { standing } from "../session-rules.js";
import type { SessionRecord, SubjectRecord } from "../store/index.js";
import type { EngineContext } from "./context.js";
import { endSession } from "./revoke.js";

/**
 * Lets a session go on at `now`, or throws the error `standing` names (session-rules.ts):
 * the one gate of refresh, exchange and the bearer routes.
 */
export async function admit(
  ctx: EngineContext,
  session: SessionRecord,
  subject: SubjectRecord,
  now: number,
): Promise<void> {
  switch (standing(session, subject, now)) {
    case "good":
      return;
    case "user_disabled":
      throw new ProlongError("user_disabled", "this user is disabled");
    case "session_revoked":
      throw new ProlongError("session_revoked", "session was revoked");
    case "session_expired":
      throw new ProlongError("session_expired", "session has expired");
    case "superseded":
      // Created while "log out everywhere" ran, it slipped past the bulk revocation: end it now.
      await endSession(ctx, session.id, "logout_everywhere");
      throw new ProlongError("session_revoked", "session was revoked");
    case "reauth_required":
      throw new ProlongError("reauth_required", "sign in again to continue");
  }
}
