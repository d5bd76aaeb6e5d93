import type { RevocationChange } from "../store/index.js";
import type { EngineContext } from "./context.js";

/**
 * A revocation as the feed publishes it (docs/protocol.md, "Revocation feed"), read
 * from the store's changelog: `relevantUntil` (ms) is when no access token it covers
 * can still be unexpired.
 */
export type RevocationEntry =
  | { kind: "revoked"; sessionId: string; subjectId: string; relevantUntil: number }
  | { kind: "version"; subjectId: string; version: number; relevantUntil: number };

/** Entries in changelog order, and the cursor to read on from. */
export interface RevocationBatch {
  entries: RevocationEntry[];
  cursor: string;
}

/** Changelog entries read per store call when building a snapshot. */
const SNAPSHOT_PAGE = 1000;

/**
 * What a resource server must know right now, from the store's changelog: sessions
 * revoked and token versions bumped recently enough that some access token they cover
 * may still be unexpired, and the cursor from which later changes follow.
 */
export async function revocationSnapshot(ctx: EngineContext): Promise<RevocationBatch> {
  const since = ctx.clock.now() - ctx.relevanceMs;
  const entries: RevocationEntry[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await ctx.store.sessions.readRevocations({ after, since, limit: SNAPSHOT_PAGE });
    entries.push(...page.changes.map((c) => entryOf(ctx, c)));
    after = page.cursor;
    if (page.changes.length < SNAPSHOT_PAGE) return { entries, cursor: after };
  }
}

/** Changes after `cursor` (from a snapshot or an earlier call), at most `limit`, in order. */
export async function revocationsAfter(
  ctx: EngineContext,
  cursor: string,
  limit: number,
): Promise<RevocationBatch> {
  const page = await ctx.store.sessions.readRevocations({ after: cursor, limit });
  return { entries: page.changes.map((c) => entryOf(ctx, c)), cursor: page.cursor };
}

/**
 * Calls `wake` when the store says changes may have been appended, if it can say so;
 * returns the function that stops it, or `null` when readers must rely on polling.
 */
export function watchRevocations(ctx: EngineContext, wake: () => void): (() => void) | null {
  return ctx.store.sessions.watchRevocations?.(wake) ?? null;
}

function entryOf(ctx: EngineContext, change: RevocationChange): RevocationEntry {
  const relevantUntil = change.at + ctx.relevanceMs;
  return change.kind === "revoked"
    ? { kind: "revoked", sessionId: change.sessionId, subjectId: change.subjectId, relevantUntil }
    : { kind: "version", subjectId: change.subjectId, version: change.version, relevantUntil };
}
