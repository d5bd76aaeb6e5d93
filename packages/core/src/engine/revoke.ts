import { MAX_ACCESS_TOKEN_BYTES } from "@prolong/protocol";
import { ProlongError } from "../errors.js";
import { profileOf } from "../policy.js";
import type { RevokeReason, SessionRecord } from "../store/index.js";
import { lookUpByHint } from "./access-token-session.js";
import type { EngineContext } from "./context.js";
import { requireProofFor } from "./dpop-proofs.js";
import { refuseImpersonator } from "./impersonation.js";
import { ownSession } from "./sessions.js";

/** Revokes one session and reports it; `null` when it was already revoked or is unknown. */
export async function endSession(
  ctx: EngineContext,
  sessionId: string,
  reason: RevokeReason,
): Promise<SessionRecord | null> {
  const now = ctx.clock.now();
  const session = await ctx.store.sessions.revokeSession(sessionId, reason, now);
  if (session) await reportRevoked(ctx, session, reason, now);
  return session;
}

/** Revokes every session of a subject (but `exceptId`) and reports each; returns them. */
export async function endSubjectSessions(
  ctx: EngineContext,
  subjectId: string,
  options: { exceptId?: string; reason: RevokeReason },
): Promise<SessionRecord[]> {
  const now = ctx.clock.now();
  const revoked = await ctx.store.sessions.revokeSubjectSessions(subjectId, { ...options, now });
  for (const session of revoked) await reportRevoked(ctx, session, options.reason, now);
  return revoked;
}

export function reportRevoked(
  ctx: EngineContext,
  session: SessionRecord,
  reason: RevokeReason,
  at: number,
): Promise<void> {
  return ctx.events.emit({
    type: "session_revoked",
    subjectId: session.subjectId,
    sessionId: session.id,
    reason,
    actor: session.actor,
    at,
    relevantUntil: at + ctx.relevanceMs,
  });
}

/**
 * RFC 7009: revokes the session behind a refresh or access token. Unknown and invalid
 * tokens are ignored (§2.2: the answer is the same either way), and so is a token of
 * another client than the one asking.
 */
export async function revokeToken(
  ctx: EngineContext,
  input: { token: string; tokenTypeHint?: string; clientId?: string; proofJkt?: string | null },
): Promise<void> {
  const sessionId = await sessionOfToken(ctx, input.token, input.tokenTypeHint);
  if (!sessionId) return;
  const checksClient = input.clientId !== undefined;
  const requiresProof =
    !input.proofJkt && Object.values(ctx.policy.profiles).some((p) => p.dpop === "required");
  if (checksClient || requiresProof) {
    const found = await ctx.store.sessions.readSession(sessionId);
    if (!found || (checksClient && found.session.clientId !== input.clientId)) return;
    // The token is genuine, so a refusal here tells its holder only what it must add.
    requireProofFor(profileOf(ctx.policy, found.session.clientId), input.proofJkt);
  }
  // A bound session is ended by a revocation without its key's proof too: showing its
  // refresh token without the key at the token endpoint ends it all the same (refresh.ts).
  // RFC 7009 §2: the holder of the token ends its session, which is what signing out is.
  await endSession(ctx, sessionId, "logout");
}

function sessionOfToken(ctx: EngineContext, token: string, hint?: string): Promise<string | null> {
  if (typeof token !== "string" || token.length > MAX_ACCESS_TOKEN_BYTES) return Promise.resolve(null);
  return lookUpByHint(
    hint,
    () => ctx.codec.open(token)?.sessionId ?? null,
    async () => (await ctx.checkToken(token)).sid,
  );
}

/**
 * Ends one session: the subject's own (`subjectId`), or any when `subjectId` is `null`
 * (an administrator, who hears about an unknown id).
 */
export async function revokeSession(
  ctx: EngineContext,
  subjectId: string | null,
  sessionId: string,
  reason: RevokeReason = "revoked",
): Promise<void> {
  if (subjectId !== null) await ownSession(ctx, subjectId, sessionId);
  if (
    !(await endSession(ctx, sessionId, reason)) &&
    subjectId === null &&
    !(await ctx.store.sessions.readSession(sessionId))
  ) {
    throw new ProlongError("not_found", "no such session");
  }
}

/** "Sign out all other devices" (P7): returns how many sessions ended. */
export async function revokeOtherSessions(
  ctx: EngineContext,
  subjectId: string,
  currentSessionId: string,
): Promise<number> {
  const current = await ctx.store.sessions.readSession(currentSessionId);
  if (current) refuseImpersonator(current.session, "ending the user's other sessions");
  return (await endSubjectSessions(ctx, subjectId, { exceptId: currentSessionId, reason: "revoked" })).length;
}
