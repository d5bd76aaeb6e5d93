import { cleanDeviceName } from "../device-name.js";
import { ProlongError } from "../errors.js";
import type { SessionRecord } from "../store/index.js";
import type { EngineContext } from "./context.js";

/** A subject's live sessions, newest first (P7). */
export function listSessions(ctx: EngineContext, subjectId: string): Promise<SessionRecord[]> {
  return ctx.store.sessions.listSessions(subjectId, ctx.clock.now());
}

/** Renames one of the subject's sessions; the name is cleaned as at sign-in. */
export async function renameSession(
  ctx: EngineContext,
  subjectId: string,
  sessionId: string,
  deviceName: string,
): Promise<SessionRecord> {
  const name = cleanDeviceName(deviceName);
  if (name === null) {
    throw new ProlongError("invalid_request", "device name is empty once invisible characters are removed");
  }
  await ownSession(ctx, subjectId, sessionId);
  const renamed = await ctx.store.sessions.renameSession(sessionId, name);
  if (!renamed) throw new ProlongError("not_found", "no such session");
  return renamed;
}

/** The subject's unrevoked session `sessionId`, or `not_found`. */
export async function ownSession(
  ctx: EngineContext,
  subjectId: string,
  sessionId: string,
): Promise<SessionRecord> {
  const found = await ctx.store.sessions.readSession(sessionId);
  // Someone else's session is "not found", so ids cannot be probed.
  if (!found || found.session.subjectId !== subjectId || found.session.revokedAt !== null) {
    throw new ProlongError("not_found", "no such session");
  }
  return found.session;
}
