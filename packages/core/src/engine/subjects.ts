import type { AccountRecord, SubjectPatch, SubjectRecord } from "../store/index.js";
import { checkSubjectClaims } from "../subject-claims.js";
import { checkSubjectId } from "../subject-id.js";
import type { EngineContext } from "./context.js";
import { endSubjectSessions } from "./revoke.js";

/** A subject's standing and, when it has one, its built-in account: what an administrator sees. */
export interface SubjectDetails {
  subject: SubjectRecord;
  account: AccountRecord | null;
}

/** The subject `subjectId` with its account; `null` when no such subject exists. */
export async function describeSubject(ctx: EngineContext, subjectId: string): Promise<SubjectDetails | null> {
  const [subject, account] = await Promise.all([
    ctx.store.sessions.findSubject(subjectId),
    ctx.store.accounts.findAccountBySubject(subjectId),
  ]);
  return subject ? { subject, account } : null;
}

/**
 * Changes a subject, creating it first when it was never seen: the application names its
 * users before prolong has met them (docs/protocol.md, "Subjects"). Disabling a subject
 * that has no session yet so refuses its first one; claims set ahead reach its first token.
 */
async function update(ctx: EngineContext, subjectId: string, patch: SubjectPatch): Promise<SubjectRecord> {
  const now = ctx.clock.now();
  const updated = await ctx.store.sessions.updateSubject(subjectId, patch, now);
  if (updated) return updated;
  await ctx.store.sessions.ensureSubject(checkSubjectId(subjectId), now);
  return (await ctx.store.sessions.updateSubject(subjectId, patch, now)) as SubjectRecord;
}

/** Disables a subject and ends its sessions: it can neither sign in nor refresh (P8). */
export async function disableSubject(ctx: EngineContext, subjectId: string): Promise<void> {
  await update(ctx, subjectId, { disabled: true });
  await ctx.events.emit({ type: "user_disabled", subjectId, at: ctx.clock.now() });
  await endSubjectSessions(ctx, subjectId, { reason: "user_disabled" });
}

/** Lets a subject sign in again; sessions that disabling ended stay ended. */
export async function enableSubject(ctx: EngineContext, subjectId: string): Promise<void> {
  await update(ctx, subjectId, { disabled: false });
}

/** Sessions that signed in up to now may not go on until the subject signs in again (P8). */
export async function requireReauth(ctx: EngineContext, subjectId: string): Promise<void> {
  const now = ctx.clock.now();
  await update(ctx, subjectId, { reauthRequiredAt: now });
  await ctx.events.emit({ type: "reauth_required", subjectId, at: now });
}

/** Replaces the subject's application claims; they reach access tokens at the next refresh (P9). */
export async function setClaims(
  ctx: EngineContext,
  subjectId: string,
  claims: Record<string, unknown>,
): Promise<SubjectRecord> {
  return update(ctx, subjectId, { claims: checkSubjectClaims(claims) });
}

/**
 * "Log out everywhere" (P8): bumps the subject's token version, so subscribed resource
 * servers drop every access token at once, and revokes every session. Returns how many
 * sessions ended. A subject never seen is created first, like every other change
 * (nothing of it can be signed in, so it ends none).
 */
export async function logoutEverywhere(ctx: EngineContext, subjectId: string): Promise<number> {
  const now = ctx.clock.now();
  let subject = await ctx.store.sessions.bumpTokenVersion(subjectId, now);
  if (!subject) {
    await ctx.store.sessions.ensureSubject(checkSubjectId(subjectId), now);
    subject = (await ctx.store.sessions.bumpTokenVersion(subjectId, now)) as SubjectRecord;
  }
  await ctx.events.emit({
    type: "logout_everywhere",
    subjectId,
    version: subject.tokenVersion,
    at: now,
    relevantUntil: now + ctx.relevanceMs,
  });
  return (await endSubjectSessions(ctx, subjectId, { reason: "logout_everywhere" })).length;
}
