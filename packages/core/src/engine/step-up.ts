import { checkAcr, checkAmr } from "../authentication-context.js";
import { ProlongError } from "../errors.js";
import type { EngineContext } from "./context.js";

/** What the host vouches for after re-authenticating the user; either may be left out. */
export interface StepUpInput {
  /** The new authentication context class (RFC 9068 §2.2.1); `null` clears it. */
  acr?: string | null;
  /** The methods used (RFC 8176); `null` clears them. */
  amr?: string[] | null;
}

/** What a step-up answers: nothing secret, only when the session now counts as authenticated. */
export interface SteppedUp {
  sessionId: string;
  /** Seconds since the epoch: the `auth_time` of the session's next access tokens. */
  authTime: number;
}

/**
 * Step-up (RFC 9470, docs/session-policies.md): the host re-authenticated the session's
 * user (a second factor, a fresh password) and says so. The same session goes on with
 * `auth_time` now and the given `acr`/`amr`; its next refresh hands the client tokens
 * that carry them. Deadlines do not move: a stronger sign-in is not a longer one.
 * A missing, revoked or expired session answers `not_found`.
 */
export async function stepUp(ctx: EngineContext, sessionId: string, input: StepUpInput): Promise<SteppedUp> {
  if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 100) {
    throw new ProlongError("invalid_request", "sessionId: must be a session id");
  }
  const acr = checkAcr(input.acr);
  const amr = checkAmr(input.amr);
  const now = ctx.clock.now();
  const session = await ctx.store.sessions.stepUp(
    sessionId,
    { authTime: now, ...(acr === undefined ? {} : { acr }), ...(amr === undefined ? {} : { amr }) },
    now,
  );
  if (!session) throw new ProlongError("not_found", "no such live session");
  await ctx.events.emit({
    type: "stepped_up",
    subjectId: session.subjectId,
    sessionId,
    acr: session.acr,
    amr: session.amr,
    at: now,
  });
  return { sessionId, authTime: Math.floor(session.authTime / 1000) };
}
