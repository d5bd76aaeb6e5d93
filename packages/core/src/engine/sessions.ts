import { cleanDeviceName } from "../device-name.js";
import { ProlongError } from "../errors.js";
import type { SessionRecord } from "../store/index.js";
import type { EngineContext } from "./context.js";

/** A subject's live sessions, newest first (P7). */
export function listSessions(ctx: EngineContext, subjectId: string): Promise<SessionRecord[]> {
  return ctx.store.sessions.listSessions(subjectId, ctx.clock.now());
}

/** Which of a subject's sessions an administrator asks for, a page at a time. */
export interface SessionQuery {
  subjectId: string;
  /** `live` (the default): sessions that may still refresh; `all`: ended ones too, until purged. */
  state?: "live" | "all";
  clientId?: string;
  /** The `next` of the previous page. */
  after?: string;
  limit: number;
}

export interface SessionPage {
  /** Newest first. */
  sessions: SessionRecord[];
  /** Pass as `after` for the next page; `null` when there is none. Opaque to callers. */
  next: string | null;
}

/** One page of a subject's sessions, newest first. */
export async function findSessions(ctx: EngineContext, query: SessionQuery): Promise<SessionPage> {
  if (!Number.isSafeInteger(query.limit) || query.limit < 1) {
    throw new ProlongError("invalid_request", "limit: must be a whole number, 1 or more");
  }
  const after = query.after === undefined ? undefined : parseSessionCursor(query.after);
  // One session past the page says whether there is a next one, without a count.
  const found = await ctx.store.sessions.listSessions(query.subjectId, ctx.clock.now(), {
    ended: query.state === "all",
    limit: query.limit + 1,
    ...(query.clientId === undefined ? {} : { clientId: query.clientId }),
    ...(after === undefined ? {} : { after }),
  });
  const sessions = found.slice(0, query.limit);
  const last = sessions.at(-1);
  return { sessions, next: last && found.length > sessions.length ? `${last.createdAt}.${last.id}` : null };
}

/** The position a `next` of {@link findSessions} names: the last session of its page. */
function parseSessionCursor(cursor: string): { createdAt: number; id: string } {
  const match = /^(\d{1,16})\.(.{1,200})$/u.exec(cursor);
  const createdAt = Number(match?.[1]);
  if (!match?.[2] || !Number.isSafeInteger(createdAt)) {
    throw new ProlongError("invalid_request", "after: not a page cursor of this session listing");
  }
  return { createdAt, id: match[2] };
}

/** Any session by id, ended or not (administrators); `null` when there is none. */
export async function findSession(ctx: EngineContext, sessionId: string): Promise<SessionRecord | null> {
  return (await ctx.store.sessions.readSession(sessionId))?.session ?? null;
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
