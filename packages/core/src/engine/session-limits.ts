import { ProlongError } from "../errors.js";
import { profileOf } from "../policy.js";
import type { CreateSessionOutcome, SessionLimit, SessionRecord } from "../store/index.js";
import type { EngineContext } from "./context.js";

/**
 * Device limits (docs/session-policies.md, "Device limits"): a profile's `maxSessions`
 * becomes the {@link SessionLimit} the store checks while it creates the session, in the
 * same transaction, so two sign-ins racing on two servers never leave more than `max`.
 * The limit spans every client of the profile: a user's phone app and tablet app count
 * together when they share it.
 */

/** The limit a new session of `clientId` starts under; `null` when its profile has none, or for an impersonation. */
export function sessionLimitFor(ctx: EngineContext, session: SessionRecord): SessionLimit | null {
  // An administrator's session for the user is not one of the user's devices: it neither
  // counts nor pushes one of them out (the store leaves `actor` sessions alone too).
  if (session.actor !== null) return null;
  const cap = profileOf(ctx.policy, session.clientId).maxSessions;
  if (cap === null) return null;
  const profile = ctx.policy.clients[session.clientId]?.profile;
  const clientIds = Object.entries(ctx.policy.clients)
    .filter(([, client]) => client.profile === profile)
    .map(([id]) => id);
  return { max: cap.max, onLimit: cap.onLimit, clientIds };
}

/**
 * Acts on what the store did with a limited creation: a refusal becomes `session_limit`
 * (naming the limit, never another session: the caller may be an attacker holding the
 * password), and each evicted session is reported (the store already put it on the
 * revocation changelog, so subscribed resource servers drop its tokens).
 */
export async function settleSessionLimit(
  ctx: EngineContext,
  session: SessionRecord,
  limit: SessionLimit | null,
  outcome: CreateSessionOutcome,
): Promise<void> {
  if (outcome.status === "refused") {
    throw new ProlongError(
      "session_limit",
      `this user may be signed in on at most ${limit?.max ?? 0} device(s) with client ${session.clientId}; sign out on another one first`,
    );
  }
  for (const sessionId of outcome.evicted) {
    await ctx.events.emit({
      type: "session_evicted",
      subjectId: session.subjectId,
      sessionId,
      by: session.id,
      at: session.createdAt,
      relevantUntil: session.createdAt + ctx.relevanceMs,
    });
  }
}
